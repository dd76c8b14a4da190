import { describe, expect, it } from 'vitest';
import { RecentMap } from '../src/recent-map.js';

describe('RecentMap', () => {
  it('keeps the newest keys up to its capacity, forgetting the oldest first', () => {
    const map = new RecentMap<number>(3);
    for (let i = 0; i < 5; i++) map.set(`k${i}`, i);
    expect(map.size).toBe(3);
    expect([0, 1, 2, 3, 4].map((i) => map.get(`k${i}`))).toEqual([undefined, undefined, 2, 3, 4]);
  });

  it('updates a key it holds in place: the key keeps its age and nothing else is forgotten', () => {
    const map = new RecentMap<string>(2);
    map.set('a', 'first');
    map.set('b', 'b');
    map.set('a', 'second');
    expect(map.size).toBe(2);
    expect(map.get('a')).toBe('second');
    expect(map.get('b')).toBe('b');
    // 'a' is still the oldest: the next new key forgets it
    map.set('c', 'c');
    expect(map.get('a')).toBeUndefined();
    expect(map.get('b')).toBe('b');
  });

  it('agrees with an unbounded map over its newest keys, in a long random sequence', () => {
    const capacity = 64;
    const map = new RecentMap<number>(capacity);
    const order: string[] = [];
    const values = new Map<string, number>();
    let seed = 7;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 5000; i++) {
      const key = `s${Math.floor(random() * 200)}`;
      map.set(key, i);
      if (!values.has(key)) order.push(key);
      values.set(key, i);
      while (order.length > capacity) values.delete(order.shift()!);
      expect(map.size).toBe(values.size);
    }
    for (const [key, value] of values) expect(map.get(key)).toBe(value);
  });
});
