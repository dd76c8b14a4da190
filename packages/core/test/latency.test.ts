import { describe, expect, it } from 'vitest';
import { computeLatency } from '../src/latency.js';

const sum = (wait: Array<{ seconds: number }>) => wait.reduce((total, slice) => total + slice.seconds, 0);

describe('computeLatency', () => {
  it('splits the wait into consecutive owned slices that sum exactly to e2e', () => {
    const t0 = 1_800_000_000;
    const latency = computeLatency({
      userSpeechEnd: t0,
      transcriptionDelay: 0.2,
      eouDelay: 0.5,
      onUserTurnCompletedDelay: 0.05,
      llmRequests: [
        { start: t0 + 0.56, end: t0 + 0.9, ttft: 0.3, speakable: false },
        { start: t0 + 1.1, end: t0 + 1.8, ttft: 0.4, speakable: true },
      ],
      tools: [{ start: t0 + 0.92, end: t0 + 1.05 }],
      ttsRequests: [{ start: t0 + 1.52, ttfb: 0.2 }],
      e2e: 2.0,
    });
    const slices = Object.fromEntries(latency.wait.map((s) => [s.key, s.seconds]));
    expect(slices.stt_final_transcript).toBeCloseTo(0.2, 6);
    expect(slices.endpointing_delay).toBeCloseTo(0.3, 6);
    expect(slices.on_user_turn_completed).toBeCloseTo(0.05, 6);
    expect(slices.llm_tool_step).toBeCloseTo(0.34, 6);
    expect(slices.tool_execution).toBeCloseTo(0.13, 6);
    expect(slices.llm_ttft).toBeCloseTo(0.4, 6);
    expect(slices.tts_text_aggregation).toBeCloseTo(0.02, 6);
    expect(slices.tts_ttfb).toBeCloseTo(0.2, 6);
    expect(slices.playout_start).toBeCloseTo(0.28, 6);
    expect(slices.unattributed).toBeCloseTo(0.01 + 0.02 + 0.05, 6);
    expect(sum(latency.wait)).toBe(2.0);
    expect(latency.total).toBeCloseTo(0.5 + 0.4 + 0.2, 6);
    expect(latency.wait.find((s) => s.key === 'endpointing_delay')?.owner).toBe('setting:endpointing');
  });

  it('clamps marks that fall outside the wait (preemptive generation, a TTFB longer than e2e)', () => {
    const t0 = 1_800_000_000;
    const latency = computeLatency({
      userSpeechEnd: t0,
      eouDelay: 0.4,
      llmRequests: [{ start: t0 - 0.2, end: t0 + 0.3, ttft: 0.3, speakable: true }],
      tools: [],
      ttsRequests: [{ start: t0 + 0.45, ttfb: 5 }],
      e2e: 0.8,
    });
    expect(latency.wait.every((s) => s.seconds >= 0)).toBe(true);
    expect(sum(latency.wait)).toBeCloseTo(0.8, 12);
    // the LLM answered before the turn was committed: none of its TTFT was waited for
    expect(latency.wait.find((s) => s.key === 'llm_ttft')?.seconds ?? 0).toBe(0);
  });

  it('gives no breakdown without a user speech end (a greeting), but still the docs figures', () => {
    const latency = computeLatency({ llmRequests: [], tools: [], ttsRequests: [{ start: 1, ttfb: 0.2 }], e2e: 1 });
    expect(latency.wait).toEqual([]);
    expect(latency.ttsTtfb).toBe(0.2);
  });
});
