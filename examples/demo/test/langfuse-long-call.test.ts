// A 30-turn call through the LangFuse path (issue #14): LangFuse warns above ~150 observations per
// trace, so its export gets one trace per user turn, grouped by the session, while the call's own
// trace (Jaeger, Tempo, the file) stays whole. Nothing may be lost on the way.
import { startLangfuseContractServer, type LangfuseContractServer } from '@voicetrace/langfuse-contract';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo, type DemoResult } from '../src/run-demo.js';
import { readSpans } from './otlp-json.js';

const TURNS = 30;
const KEYS = { publicKey: 'pk-lf-long', secretKey: 'sk-lf-long' };
let server: LangfuseContractServer;
let result: DemoResult;

beforeAll(async () => {
  server = await startLangfuseContractServer(KEYS);
  result = await runDemo({ out: mkdtempSync(join(tmpdir(), 'voicetrace-long-')), turns: TURNS, voicetrace: { langfuse: { ...KEYS, baseUrl: server.baseUrl } } });
}, 400_000);

afterAll(async () => {
  await server?.close();
});

describe(`a ${TURNS}-turn call in LangFuse`, () => {
  it('stays within 150 observations per LangFuse trace, every turn present, no stage lost', () => {
    const observations = server.observations();
    const perTrace = new Map<string, number>();
    for (const o of observations) perTrace.set(o.traceId, (perTrace.get(o.traceId) ?? 0) + 1);
    const counts = [...perTrace.values()];
    console.log(`[langfuse] ${TURNS}-turn demo: ${observations.length} observations in ${counts.length} traces, at most ${Math.max(...counts)} per trace`);
    expect(Math.max(...counts)).toBeLessThanOrEqual(150);
    expect(result.summary.userTurns).toBe(TURNS);
    const turnIndexes = new Set(server.spans.filter((s) => s.name === 'user_turn').map((s) => s.attributes['voicetrace.turn.index']));
    expect(turnIndexes.size).toBe(TURNS);
    const stages = new Set(server.spans.map((s) => s.attributes['voicetrace.stage']).filter(Boolean));
    for (const stage of ['session', 'user_turn', 'vad', 'stt', 'eou', 'agent_turn', 'llm', 'tts', 'interruption', 'tool', 'handoff']) expect(stages, stage).toContain(stage);
    // the loop keeps the call's features happening: five barge-ins and ten handoffs (there and back) in 30 turns
    expect(result.summary.interruptions).toBe(TURNS / 6);
    expect(result.summary.handoffs.length).toBeGreaterThanOrEqual(TURNS / 3 - 1);
  });

  it('LangFuse received every span the file did, and the call stays one trace everywhere else', () => {
    const file = readSpans(result.tracesPath);
    expect(new Set(server.spans.map((s) => s.spanId))).toEqual(new Set(file.map((s) => s.spanId)));
    expect(new Set(file.map((s) => s.traceId)).size).toBe(1);
  });
});
