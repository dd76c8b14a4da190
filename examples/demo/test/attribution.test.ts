// Attribution, not just the sum: a known delay injected into one stage at a time (a real
// AgentSession each run, fixed latencies) must grow exactly that stage's slice of the wait by the
// delay, within 20 ms, and leave every other slice where it was.
import type { ReplyRecord } from '@voicetrace/core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runDemo, type DemoOptions } from '../src/run-demo.js';

const DELAY_MS = 250;
const TOLERANCE_S = 0.02;

/** Fixed latencies everywhere: a run differs from another only by what a case injects. */
const FIXED: Partial<DemoOptions> = {
  greeting: false,
  turns: 2, // the weather question (a tool call), then goodbye
  plugins: {
    stt: { finalDelay: { minMs: 200, maxMs: 200 } },
    llm: { ttft: { minMs: 300, maxMs: 300 }, interTokenMs: { minMs: 10, maxMs: 10 } },
    tts: { ttfb: { minMs: 150, maxMs: 150 } },
  },
  endpointing: { minDelay: 300 },
  agent: { toolMs: 100 },
};

/** Each case: the slice that must move, the turn it is read on, and the run's options without and with the delay. */
const CASES: Array<{ slice: string; turn: number; base: Partial<DemoOptions>; injected: Partial<DemoOptions> }> = [
  // the final transcript comes after the endpointing delay here, so it alone decides the end of turn
  { slice: 'stt_final_transcript', turn: 2, base: { endpointing: { minDelay: 50 } }, injected: { endpointing: { minDelay: 50 }, plugins: { ...FIXED.plugins, stt: { finalDelay: { minMs: 200 + DELAY_MS, maxMs: 200 + DELAY_MS } } } } },
  { slice: 'endpointing_delay', turn: 2, base: {}, injected: { endpointing: { minDelay: 300 + DELAY_MS } } },
  { slice: 'on_user_turn_completed', turn: 2, base: {}, injected: { agent: { toolMs: 100, onUserTurnCompletedMs: DELAY_MS } } },
  { slice: 'tool_execution', turn: 1, base: {}, injected: { agent: { toolMs: 100 + DELAY_MS } } },
  { slice: 'llm_ttft', turn: 2, base: {}, injected: { plugins: { ...FIXED.plugins, llm: { ...FIXED.plugins!.llm, ttft: { minMs: 300 + DELAY_MS, maxMs: 300 + DELAY_MS } } } } },
  // a stall after the first token holds the first sentence back from the TTS
  { slice: 'tts_text_aggregation', turn: 2, base: {}, injected: { plugins: { ...FIXED.plugins, llm: { ...FIXED.plugins!.llm, stallAfterFirstTokenMs: DELAY_MS } } } },
  { slice: 'tts_ttfb', turn: 2, base: {}, injected: { plugins: { ...FIXED.plugins, tts: { ttfb: { minMs: 150 + DELAY_MS, maxMs: 150 + DELAY_MS } } } } },
  { slice: 'playout_start', turn: 2, base: {}, injected: { plugins: { ...FIXED.plugins, output: { startDelayMs: DELAY_MS } } } },
];

/** The wait slices (seconds by key) of user turn `turn`'s played reply. */
async function slicesOf(options: Partial<DemoOptions>, turn: number): Promise<Record<string, number>> {
  const result = await runDemo({ ...FIXED, ...options, out: mkdtempSync(join(tmpdir(), 'voicetrace-attribution-')) });
  const reply = result.summary.turns.find((t) => t.index === turn)?.replies.find((r: ReplyRecord) => r.latency?.e2e !== undefined);
  if (!reply?.latency?.wait.length) throw new Error(`turn ${turn} has no wait breakdown`);
  return Object.fromEntries(reply.latency.wait.map((w) => [w.key, w.seconds]));
}

describe('every slice of the wait names its real owner', () => {
  const baselines = new Map<string, Record<number, Record<string, number>>>();
  const baseline = async (base: Partial<DemoOptions>, turn: number): Promise<Record<string, number>> => {
    const key = JSON.stringify(base);
    if (!baselines.has(key)) baselines.set(key, { 1: {}, 2: {} });
    const byTurn = baselines.get(key)!;
    if (!Object.keys(byTurn[turn]!).length) byTurn[turn] = await slicesOf(base, turn);
    return byTurn[turn]!;
  };

  beforeAll(async () => {
    // one baseline run serves every case that shares its options and turn
    await baseline({}, 2);
  }, 60_000);

  for (const { slice, turn, base, injected } of CASES) {
    it(`+${DELAY_MS} ms in ${slice} grows that slice by ${DELAY_MS} ms and nothing else`, async () => {
      const before = await baseline(base, turn);
      const after = await slicesOf(injected, turn);
      const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
      const moved = Object.fromEntries([...keys].map((k) => [k, Math.round(((after[k] ?? 0) - (before[k] ?? 0)) * 1000)]));
      console.log(`[attribution] +${DELAY_MS} ms ${slice}: slice changes (ms) ${JSON.stringify(moved)}`);
      expect((after[slice] ?? 0) - (before[slice] ?? 0), slice).toBeGreaterThan(DELAY_MS / 1000 - TOLERANCE_S);
      expect((after[slice] ?? 0) - (before[slice] ?? 0), slice).toBeLessThan(DELAY_MS / 1000 + TOLERANCE_S);
      for (const other of keys) {
        if (other === slice) continue;
        expect(Math.abs((after[other] ?? 0) - (before[other] ?? 0)), `${other} stays put`).toBeLessThan(TOLERANCE_S);
      }
    }, 60_000);
  }
});
