// The main job as the README runs it (issue 23): `pnpm demo` starts the demo the way users start their
// worker, `node --import @voicetrace/livekit/register ...`, so with OTEL_EXPORTER_OTLP_ENDPOINT set its
// spans, metrics and logs all reach the real Collector. The command is read from the root package.json,
// not copied: if the script loses the flag, this test fails. A failing tool (`--inject tool-error=1`)
// makes the SDK log an error inside turn 1: that record reaches the Collector with the ids of a span the
// Collector also received, is on turn 1 in report.json, and the closing line counts it as delivered.
import { ATTR } from '@voicetrace/conventions';
import type { SessionReportJson } from '@voicetrace/report';
import { backendsOrSkip, startCollector, type CollectorHandle } from '@voicetrace/test-backends';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricSum, sleep } from './e2e/util.js';

const bins = await backendsOrSkip('collector');
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const TOOL_ERROR = 'exception occurred while executing tool';

type AnyValue = { stringValue?: string; intValue?: string | number };
interface OtlpLog { traceId: string; spanId: string; severityText?: string; body?: AnyValue }
interface OtlpSpan { traceId: string; spanId: string; name: string; attributes?: Array<{ key: string; value: AnyValue }> }

/** The command `pnpm demo` runs after its build step, from the root package.json. */
function demoCommand(): string {
  const script = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.demo!;
  return script.split('&&').at(-1)!.trim();
}

function collectorOutput(collector: CollectorHandle): { logs: OtlpLog[]; spans: OtlpSpan[] } {
  const file = join(collector.workDir, 'telemetry.jsonl');
  const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as {
    resourceLogs?: Array<{ scopeLogs: Array<{ logRecords: OtlpLog[] }> }>;
    resourceSpans?: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
  }) : [];
  return {
    logs: lines.flatMap((l) => l.resourceLogs ?? []).flatMap((r) => r.scopeLogs).flatMap((s) => s.logRecords),
    spans: lines.flatMap((l) => l.resourceSpans ?? []).flatMap((r) => r.scopeSpans).flatMap((s) => s.spans),
  };
}

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(250);
  }
}

describe.skipIf(!bins)('pnpm demo runs as users run their worker: spans, metrics and logs reach the Collector', () => {
  let collector: CollectorHandle;

  beforeAll(async () => {
    collector = await startCollector({ configFiles: ['sidecar.yaml', 'overlays/file.yaml'], env: { VOICETRACE_FILE_EXPORT_PATH: 'telemetry.jsonl', VOICETRACE_REDACT_PII: 'false' } });
  }, 120_000);

  afterAll(async () => {
    await collector?.stop();
  });

  it('the failed tool\'s error log joins its span in the Collector and turn 1 of the report; the closing line counts it', async () => {
    const command = demoCommand();
    expect(command).toMatch(/^node --import @voicetrace\/livekit\/register /);
    const out = mkdtempSync(join(tmpdir(), 'voicetrace-demo-command-'));
    const child = spawn(`${command} --out ${out} --inject tool-error=1 --turns 2`, {
      cwd: root,
      shell: true,
      env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: collector.otlpHttpUrl, OTEL_METRIC_EXPORT_INTERVAL: '1000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, `${stderr.slice(-3000)}\n${stdout.slice(-3000)}`).toBe(0);

    // the terminal: the SDK's error line (pretty, as a dev worker prints it), no warning the demo's own setup causes, and the log export counted
    expect(stdout).toContain(TOOL_ERROR);
    expect(stdout).not.toContain('resumeFalseInterruption');
    const delivered = /logs export: (\d+) records delivered, (\d+) lost/.exec(stdout);
    expect(delivered, stdout.slice(-2000)).not.toBeNull();
    expect(Number(delivered![1])).toBeGreaterThanOrEqual(1);
    expect(Number(delivered![2])).toBe(0);

    // the Collector: the error as an OTel log record whose ids name a span it received, in turn 1 of this session
    const sessionDir = readdirSync(out).find((d) => existsSync(join(out, d, 'report.json')))!;
    const report = JSON.parse(readFileSync(join(out, sessionDir, 'report.json'), 'utf8')) as SessionReportJson;
    const record = await waitFor('the tool error in the Collector', () => collectorOutput(collector).logs.find((r) => r.body?.stringValue === TOOL_ERROR));
    expect(record.severityText).toBe('error');
    const span = await waitFor('the span the record names', () => collectorOutput(collector).spans.find((s) => s.spanId === record.spanId));
    expect(span.traceId).toBe(record.traceId);
    const sessionOf = (s: OtlpSpan): unknown => s.attributes?.find((a) => a.key === ATTR.SESSION_ID)?.value.stringValue;
    const sessionSpan = collectorOutput(collector).spans.find((s) => s.name === 'agent_session' && sessionOf(s) === report.voicetrace.session_id);
    expect(sessionSpan?.traceId, 'the record is in the demo session\'s trace').toBe(record.traceId);
    const turn1 = report.voicetrace.turns.find((t) => t.index === 1)!;
    expect(turn1.logs.find((l) => l.message === TOOL_ERROR)).toMatchObject({ level: 'error', trace_id: record.traceId, span_id: record.spanId });

    // metrics too: the Collector accepted metric points and log records from this run
    const samples = await waitFor('metric points and log records accepted', async () => {
      const m = await collector.internalMetrics();
      return metricSum(m, 'otelcol_receiver_accepted_metric_points') > 0 && metricSum(m, 'otelcol_receiver_accepted_log_records') > 0 ? m : undefined;
    });
    console.log(
      `[demo-command] ${command}: spans ${metricSum(samples, 'otelcol_receiver_accepted_spans')}, metric points ${metricSum(samples, 'otelcol_receiver_accepted_metric_points')}, ` +
        `log records ${metricSum(samples, 'otelcol_receiver_accepted_log_records')} accepted by the Collector; "${TOOL_ERROR}" on span ${span.name} ${record.spanId}; closing line: ${delivered![0]}`,
    );
  }, 180_000);
});
