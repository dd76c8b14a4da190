// A long call (2,000 replies: past the 500 turns a report retains and the 1,024 values the model
// used to keep exactly): `summarize` of its report.json gives the percentiles of the live session
// span, which are the exact ones.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DropCounters, PriceBook, SessionModel, UsageLedger } from '@voicetrace/core';
import { quantile } from '@voicetrace/core/internal';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT, runCli } from '../src/cli/run.js';
import type { SessionSetSummary } from '../src/cli/summary.js';
import { buildVoicetraceSection } from '../src/section.js';
import { demoReport, memoryIo, rng } from './helpers/sessions.js';

const root = mkdtempSync(join(tmpdir(), 'voicetrace-long-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const T0 = 1_800_000_000;
const REPLIES = 2_000;

describe('a long call: one percentile, wherever it is read', () => {
  const counters = new DropCounters();
  const model = new SessionModel({ sessionId: 'long', ledger: new UsageLedger(new PriceBook(), counters), counters, maxTurns: 500 });
  model.beginSession(T0);
  const random = rng(11);
  const e2es: number[] = [];
  for (let i = 0; i < REPLIES; i++) {
    const t = T0 + i * 10;
    const e2e = 0.6 + random() * 2.4;
    e2es.push(e2e);
    model.beginUserTurn(t);
    model.noteUserSpeech(true, t + 0.1);
    model.noteUserSpeech(false, t + 1.5);
    model.noteTranscript(true, 'hello', t + 1.7);
    model.setEou({ kind: 'eou', at: t + 1.8, speechId: `sp${i}`, eouDelay: 0.3, transcriptionDelay: 0.2, onUserTurnCompletedDelay: 0, lastSpeakingTime: t + 1.5 });
    model.endUserTurn(t + 1.8, {});
    model.reply(`sp${i}`, t + 1.8, 'front_desk');
    model.endAgentTurn(`sp${i}`, t + 5, { e2e });
  }
  const snapshot = model.snapshot();

  it('the live model (what the session span and the metrics read) has the exact percentiles of all 2,000 replies', () => {
    expect(snapshot.turnsDropped).toBe(REPLIES - 500);
    for (const [figure, q] of [['p50', 0.5], ['p95', 0.95], ['p99', 0.99]] as const) {
      expect(snapshot.latency.e2e![figure], figure).toBeCloseTo(quantile(e2es, q)!, 12);
    }
  });

  it('summarize of its report.json gives the same percentiles and the mean of every reply, not of the 500 retained', async () => {
    const base = demoReport();
    const report = { ...base, voicetrace: buildVoicetraceSection(snapshot, { allowPii: false }) };
    const dir = join(root, 'long');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'report.json'), JSON.stringify(report));
    const io = memoryIo({ cwd: root });
    expect(await runCli(['summarize', dir, '--json'], io.io)).toBe(EXIT.OK);
    const summary = JSON.parse(io.out) as SessionSetSummary;
    const e2e = summary.latency.e2e!;
    expect(e2e.count).toBe(REPLIES);
    for (const [figure, q] of [['p50', 0.5], ['p95', 0.95], ['p99', 0.99]] as const) expect(e2e[figure], figure).toBeCloseTo(quantile(e2es, q)!, 12);
    expect(e2e.max).toBe(Math.max(...e2es));
    expect(e2e.mean).toBeCloseTo(e2es.reduce((a, b) => a + b, 0) / REPLIES, 9);
    expect(summary.turns_dropped).toBe(REPLIES - 500);
  });
});
