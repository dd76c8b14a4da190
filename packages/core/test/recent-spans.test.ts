import { describe, expect, it } from 'vitest';
import { RecentSpans } from '../src/recent-spans.js';

describe('RecentSpans', () => {
  it('keeps the newest spans up to its capacity, forgetting the oldest first', () => {
    const spans = new RecentSpans(3);
    for (let i = 0; i < 5; i++) spans.noteTurn(`s${i}`, i);
    expect(spans.size).toBe(3);
    expect([0, 1, 2, 3, 4].map((i) => spans.turnOf(`s${i}`))).toEqual([undefined, undefined, 2, 3, 4]);
  });

  it('keeps a span’s turn and speech together: noting its speech keeps its age and its turn', () => {
    const spans = new RecentSpans(2);
    spans.noteTurn('a', 1);
    spans.noteTurn('b', 2);
    spans.noteSpeech('a', 'speech_a');
    expect(spans.size).toBe(2);
    expect(spans.turnOf('a')).toBe(1);
    expect(spans.speechOf('a')).toBe('speech_a');
    expect(spans.speechOf('b')).toBeUndefined();
    // 'a' is still the oldest: the next new span forgets it, its turn and its speech
    spans.noteTurn('c', 3);
    expect(spans.turnOf('a')).toBeUndefined();
    expect(spans.speechOf('a')).toBeUndefined();
    expect(spans.turnOf('b')).toBe(2);
  });

  it('a slot taken over by a new span carries nothing of the span it forgot', () => {
    const spans = new RecentSpans(1);
    spans.noteTurn('old', 4);
    spans.noteSpeech('old', 'speech_old');
    spans.noteSpeech('new', 'speech_new');
    expect(spans.turnOf('new')).toBeUndefined();
    expect(spans.speechOf('new')).toBe('speech_new');
    spans.noteTurn('newer', 0);
    expect(spans.turnOf('newer')).toBe(0);
    expect(spans.speechOf('newer')).toBeUndefined();
  });

  it('agrees with unbounded maps over its newest spans, in a long random sequence', () => {
    const capacity = 64;
    const spans = new RecentSpans(capacity);
    const order: string[] = [];
    const turns = new Map<string, number>();
    const speech = new Map<string, string>();
    let seed = 7;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 5000; i++) {
      const n = Math.floor(random() * 200);
      // OTel's 16 hex digits (some alike in one half, some in the other), and other ids
      const key = n % 3 === 0 ? `s${n}` : n % 3 === 1 ? `0000a0b0${(n * 7919).toString(16).padStart(8, '0')}` : `${(n * 7919).toString(16).padStart(8, '0')}0000c0d0`;
      if (!turns.has(key) && !speech.has(key)) order.push(key);
      if (random() < 0.7) {
        spans.noteTurn(key, i);
        turns.set(key, i);
      } else {
        spans.noteSpeech(key, `speech_${i}`);
        speech.set(key, `speech_${i}`);
      }
      while (order.length > capacity) {
        const forgotten = order.shift()!;
        turns.delete(forgotten);
        speech.delete(forgotten);
      }
      expect(spans.size).toBe(order.length);
    }
    for (const key of order) {
      expect(spans.turnOf(key)).toBe(turns.get(key));
      expect(spans.speechOf(key)).toBe(speech.get(key));
    }
  });

  it('tells apart spans whose ids share either half, and hex ids from other ids', () => {
    const spans = new RecentSpans(8);
    spans.noteTurn('aaaaaaaa12345678', 1);
    spans.noteTurn('bbbbbbbb12345678', 2);
    spans.noteTurn('12345678aaaaaaaa', 3);
    spans.noteTurn('AAAAAAAA12345678', 4); // not lowercase hex: kept as its string
    spans.noteTurn('aaaaaaaa1234567', 5); // 15 digits
    spans.noteSpeech('aaaaaaaa12345678', 'speech_a');
    expect(spans.turnOf('aaaaaaaa12345678')).toBe(1);
    expect(spans.turnOf('bbbbbbbb12345678')).toBe(2);
    expect(spans.turnOf('12345678aaaaaaaa')).toBe(3);
    expect(spans.turnOf('AAAAAAAA12345678')).toBe(4);
    expect(spans.turnOf('aaaaaaaa1234567')).toBe(5);
    expect(spans.speechOf('aaaaaaaa12345678')).toBe('speech_a');
    expect(spans.speechOf('bbbbbbbb12345678')).toBeUndefined();
    expect(spans.turnOf('cccccccc12345678')).toBeUndefined();
    expect(spans.turnOf('aaaaaaaa123456789')).toBeUndefined();
    expect(spans.turnOf('ffffffffffffffff')).toBeUndefined();
    expect(spans.size).toBe(5);
  });

  it('an odd id’s slot taken by a hex id no longer answers for the odd id', () => {
    const spans = new RecentSpans(1);
    spans.noteTurn('odd', 1);
    spans.noteTurn('ffffffffffffffff', 2);
    expect(spans.turnOf('odd')).toBeUndefined();
    expect(spans.turnOf('ffffffffffffffff')).toBe(2);
    expect(spans.size).toBe(1);
  });
});
