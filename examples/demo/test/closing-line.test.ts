// Loss is one figure (issue 20): with the Collector down (a closed port) every span of the call is
// lost, and the demo's closing line, vt.exportStats() and the voicetrace.exporter.dropped_spans
// metric say so with the same numbers: 0 delivered, lost = the spans the call produced (its
// traces.jsonl), all given up on at shutdown. Before, the line said "0 spans delivered, 0 failed".
import { METRIC } from '@voicetrace/conventions';
import type { MetricsOptions } from '@voicetrace/livekit';
import { freePorts } from '@voicetrace/test-backends';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exportLine, runDemo } from '../src/run-demo.js';
import { readTruth } from './e2e/spans.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');

/** A port nothing listens on: one that was free a moment ago, now closed. */
const closedPort = async (): Promise<number> => (await freePorts(1))[0]!;

type PushExporter = NonNullable<MetricsOptions['exporter']>;
type Exported = Parameters<PushExporter['export']>[0];

/** Keeps what the metrics reader exports (the last export, at shutdown, has the final counts). */
class KeepingMetricExporter implements PushExporter {
  readonly exports: Exported[] = [];
  export(metrics: Exported, done: Parameters<PushExporter['export']>[1]): void {
    this.exports.push(metrics);
    done({ code: 0 });
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
  /** `voicetrace.exporter.dropped_spans` of one exporter, by reason, in the last export. */
  droppedSpans(exporter: string): Record<string, number> {
    const last = this.exports.at(-1)!;
    const metric = last.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === METRIC.EXPORTER_DROPPED_SPANS)!;
    return Object.fromEntries(
      (metric.dataPoints as Array<{ attributes: Record<string, unknown>; value: number }>).filter((p) => p.attributes['voicetrace.exporter'] === exporter).map((p) => [p.attributes['voicetrace.drop.reason'], p.value]),
    );
  }
}

describe('the demo with the Collector down (closed port)', () => {
  it('the closing line, exportStats() and the drop metric: 0 delivered, lost = every span of the call (shutdown)', async () => {
    const port = await closedPort();
    const metrics = new KeepingMetricExporter();
    const result = await runDemo({
      out: mkdtempSync(join(tmpdir(), 'voicetrace-loss-')),
      turns: 1,
      voicetrace: { otlp: { endpoint: `http://127.0.0.1:${port}` }, metrics: { exporter: metrics }, logs: false, warnings: false },
    });
    const produced = readTruth(result.tracesPath).length;
    expect(produced).toBeGreaterThan(5);
    const otlp = result.exports.otlp!;
    expect(otlp).toMatchObject({ exportedSpans: 0, lostSpans: produced });
    expect(otlp.lostByReason.shutdown).toBe(produced);
    expect(metrics.droppedSpans('otlp')).toEqual(otlp.lostByReason);
    expect(exportLine('otlp', otlp)).toBe(`otlp export: 0 spans delivered, ${produced} lost (shutdown: ${produced})`);
  }, 120_000);

  it('main.js prints that closing line', async () => {
    const port = await closedPort();
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(OTEL_|LANGFUSE_|VOICETRACE_|LIVEKIT_)/.test(k)));
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, [MAIN, '--turns', '1', '--out', mkdtempSync(join(tmpdir(), 'voicetrace-loss-'))], { env: { ...clean, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` } });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.resume();
      child.on('close', (exit) => resolve({ code: exit, stdout: out }));
    });
    expect(code).toBe(0);
    const traces = /^traces: (.+)$/m.exec(stdout)?.[1];
    const produced = readTruth(traces!).length;
    expect(stdout).toContain(`otlp export: 0 spans delivered, ${produced} lost (shutdown: ${produced})`);
    expect(stdout).not.toMatch(/otlp export: .* 0 failed/);
  }, 120_000);
});
