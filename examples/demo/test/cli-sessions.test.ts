// The report CLI over real demo sessions (issue #9), as a newcomer runs it: the demo command makes
// 100 calls (real AgentSessions, 2 turns each, seeds 42..141), `voicetrace summarize` prints the
// per-stage percentiles over them; then seeds 42..71 are called three more times, as a user gating a
// change would (baseline and candidates made the same way): twice as they were and once with the LLM
// 1.5x slower (`--slow llm=1.5`), and `voicetrace compare --max-regression p95=15%` passes on the
// second same-seeds run and fails on the slow one, naming the LLM.
import type { Comparison } from '@voicetrace/report';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DEMO = join(root, 'examples', 'demo', 'dist', 'main.js');
const CLI = join(root, 'packages', 'report', 'dist', 'cli.js');

interface Run {
  code: number | null;
  out: string;
  err: string;
  ms: number;
}

function run(script: string, args: string[]): Promise<Run> {
  const started = performance.now();
  const child = spawn(process.execPath, [script, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: '', LANGFUSE_PUBLIC_KEY: '' } });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err, ms: performance.now() - started })));
}

/**
 * The same seeds give the same scripted latencies, but each figure also holds the event loop's lateness, and
 * that grows with the calls in flight and with the other test files on 2 cores. A baseline taken from the
 * 100-call run (25 calls at once) against a 30-call candidate read eou_delay +28% at p95 (CI, December 2026):
 * a different load, not a regression. So the compare runs are made alike, 10 calls at once (unloaded, eou_delay
 * p95 moves from 377 ms at 25 to 324 ms at 10, the scripted value being 300), one after the other, and the gate
 * ignores changes under 100 ms, as a user with that much noise would (`--min-change`). The LLM 1.5x slower adds
 * about 300 ms at p95: still far past it.
 */
const NOISE_FLOOR = '100ms';
const COMPARE_CONCURRENCY = '10';

const demo = (out: string, ...args: string[]): Promise<Run> => run(DEMO, ['--turns', '2', '--out', out, ...args]);
const compareRun = (out: string, ...args: string[]): Promise<Run> => demo(out, '--concurrency', COMPARE_CONCURRENCY, '--sessions', '30', '--seed', '42', ...args);

describe('voicetrace summarize and compare over real demo sessions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'voicetrace-cli-sessions-'));
  const hundred = join(dir, 'hundred');
  const before = join(dir, 'before');
  const again = join(dir, 'again');
  const slow = join(dir, 'slow');
  const timings: string[] = [];

  beforeAll(async () => {
    const first = await demo(hundred, '--concurrency', '25', '--sessions', '100', '--seed', '42');
    expect(first.code, first.err).toBe(0);
    timings.push(`100 calls ${(first.ms / 1000).toFixed(1)} s`);
    // one after the other: two processes at once double the load, and the scheduling delay that adds to
    // every figure is no regression
    let compareMs = 0;
    for (const [out, args] of [[before, []], [again, []], [slow, ['--slow', 'llm=1.5']]] as const) {
      const made = await compareRun(out, ...args);
      expect(made.code, made.err).toBe(0);
      compareMs += made.ms;
    }
    timings.push(`3 x 30 calls ${(compareMs / 1000).toFixed(1)} s`);
  }, 400_000);

  it('summarize prints the per-stage percentiles over the 100 sessions', async () => {
    const table = await run(CLI, ['summarize', hundred]);
    timings.push(`summarize ${table.ms.toFixed(0)} ms`);
    console.info(`[cli-sessions] ${timings.join(', ')}\n${table.out.split('\n').slice(0, 12).join('\n')}`);
    expect(table.code, table.err).toBe(0);
    expect(table.out).toMatch(/^voicetrace summarize: 100 sessions .*200 user turns, 200 replies/m);
    for (const stage of ['transcription_delay', 'eou_delay', 'llm_ttft', 'tts_ttfb', 'total', 'e2e']) {
      expect(table.out, stage).toMatch(new RegExp(`^  ${stage} +200 +\\d+ ms +\\d+ ms +\\d+ ms`, 'm'));
    }
    const json = await run(CLI, ['summarize', hundred, '--json']);
    const summary = JSON.parse(json.out) as { sessions: number; latency: Record<string, { count: number; p50: number; p95: number; p99: number }> };
    expect(summary.sessions).toBe(100);
    const e2e = summary.latency.e2e!;
    expect(e2e.count).toBe(200);
    expect(e2e.p50).toBeGreaterThan(0.5);
    expect(e2e.p50).toBeLessThanOrEqual(e2e.p95);
    expect(e2e.p95).toBeLessThanOrEqual(e2e.p99);
  });

  it('compare passes on the same seeds called again', async () => {
        const result = await run(CLI, ['compare', '--baseline', before, '--candidate', again, '--max-regression', 'p95=15%', '--min-change', NOISE_FLOOR, '--json']);
    const cmp = JSON.parse(result.out) as Comparison;
    expect(cmp.baseline.sessions).toBe(30);
    expect(cmp.candidate.sessions).toBe(30);
    expect(cmp.checks.filter((c) => c.status === 'fail').map((c) => `${c.stage} ${c.quantile} ${c.relative}`)).toEqual([]);
    expect(result.code).toBe(0);
  });

  it('compare fails on --slow llm=1.5, and the LLM is what regressed', async () => {
    const result = await run(CLI, ['compare', '--baseline', before, '--candidate', slow, '--max-regression', 'p95=15%', '--min-change', NOISE_FLOOR]);
    console.info(`[cli-sessions] ${result.out.split('\n').find((l) => l.startsWith('REGRESSION'))}`);
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/^REGRESSION: .*llm_ttft p95 \+\d+ ms \(\+(4\d|5\d)\.\d%\) > \+15%/m);
    // the stages the LLM does not touch stay within their limit
    expect(result.out).not.toMatch(/(transcription_delay|eou_delay|tts_ttfb) p95 .* > \+15%/);
  });
});
