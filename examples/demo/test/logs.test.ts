// Logs beside the trace, for real (issue #12): the demo's AgentSession runs in its own process
// started as users start their worker, `node --import @voicetrace/livekit/register ...`; its agent
// logs warnings through the SDK's logger (`log().warn`) in a tool and in onUserTurnCompleted. Each
// line must carry the trace and span id of the turn it was written in (stdout JSON), reach the real
// Collector's logs pipeline as an OTel log record with those ids (collector-config/overlays/file.yaml
// writes it), point at a span the Collector received, and land on that turn in report.json (and
// report.html). In trace-per-turn mode the ids are the exported turn trace's, not the live one's.
import { ATTR } from '@voicetrace/conventions';
import type { SessionReportJson } from '@voicetrace/report';
import { backendsOrSkip, startCollector, type CollectorHandle } from '@voicetrace/test-backends';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from './e2e/util.js';

const bins = await backendsOrSkip('collector');
const here = dirname(fileURLToPath(import.meta.url));
const TOOL_WARNING = 'weather service slow, answering from the cache';
const CALLBACK_WARNING = 'crm lookup slow, continuing without the caller profile';

interface CallResult {
  sessionId: string;
  tracesPath: string;
  report: string;
  html: string;
  pino: boolean;
  logs: { exportedRecords: number; failedRecords: number };
}
interface PinoLine { msg?: string; level?: number; trace_id?: string; span_id?: string }
type AnyValue = { stringValue?: string; intValue?: string | number };
interface OtlpLog { traceId: string; spanId: string; severityText?: string; body?: AnyValue }
interface OtlpSpan { traceId: string; spanId: string; name: string; attributes?: Array<{ key: string; value: AnyValue }> }

/** Runs the call in a child process with the register module, as `node --import @voicetrace/livekit/register` does for a worker. */
async function call(collector: CollectorHandle, traceMode: 'session' | 'turn'): Promise<{ result: CallResult; pino: PinoLine[] }> {
  const out = mkdtempSync(join(tmpdir(), `voicetrace-logs-${traceMode}-`));
  const child = spawn(process.execPath, ['--import', '@voicetrace/livekit/register', join(here, 'e2e', 'logs-call.mjs'), out, traceMode], {
    cwd: join(here, '..'),
    env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: collector.otlpHttpUrl, OTEL_SERVICE_NAME: 'voicetrace-logs-demo', VOICETRACE_WARNINGS: 'off' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const lines = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as PinoLine & { result?: CallResult });
  const result = lines.find((l) => l.result)?.result;
  if (code !== 0 || !result) throw new Error(`the call exited with ${code}\n${stderr.slice(-3000)}\n${stdout.slice(-3000)}`);
  return { result, pino: lines.filter((l) => l.msg !== undefined) };
}

/** What the Collector's file overlay wrote: log records and spans (OTLP/JSON lines). */
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

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(250);
  }
}

const attr = (span: OtlpSpan, key: string): unknown => {
  const v = span.attributes?.find((a) => a.key === key)?.value;
  return v?.stringValue ?? (v?.intValue !== undefined ? Number(v.intValue) : undefined);
};

describe.skipIf(!bins)('the SDK logger beside the trace: pino -> OTel log records -> Collector, and the turn in the report', () => {
  let collector: CollectorHandle;

  beforeAll(async () => {
    collector = await startCollector({ configFiles: ['sidecar.yaml', 'overlays/file.yaml'], env: { VOICETRACE_FILE_EXPORT_PATH: 'telemetry.jsonl', VOICETRACE_REDACT_PII: 'false' } });
  }, 120_000);

  afterAll(async () => {
    await collector?.stop();
  });

  for (const traceMode of ['session', 'turn'] as const) {
    it(`${traceMode} mode: a warning logged in a turn carries that turn's exported trace and span ids, reaches the Collector, and is on that turn in report.json`, async () => {
      const { result, pino } = await call(collector, traceMode);
      expect(result.pino, 'the register module instrumented pino').toBe(true);
      // 1. the SDK's own logger line carries the ids (stdout JSON)
      const line = pino.find((l) => l.msg === TOOL_WARNING)!;
      expect(line, 'the tool warning on stdout').toBeDefined();
      expect(line.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect(line.span_id).toMatch(/^[0-9a-f]{16}$/);

      // 2. the Collector received it as an OTel log record with the same ids, and the span they name
      const record = await waitFor('the log record in the Collector', () => collectorOutput(collector).logs.find((r) => r.body?.stringValue === TOOL_WARNING && r.traceId === line.trace_id));
      expect(record).toMatchObject({ traceId: line.trace_id, spanId: line.span_id, severityText: 'warn' });
      const span = await waitFor('the span of the log record', () => collectorOutput(collector).spans.find((s) => s.spanId === line.span_id));
      expect(span.traceId, 'the record points into the trace its span was exported in').toBe(line.trace_id);
      expect(attr(span, ATTR.TURN_INDEX)).toBe(1);
      const spans = collectorOutput(collector).spans.filter((s) => attr(s, ATTR.SESSION_ID) === result.sessionId);
      const session = spans.find((s) => s.name === 'agent_session')!;
      const userTurn = spans.find((s) => s.name === 'user_turn' && attr(s, ATTR.TURN_INDEX) === 1)!;
      if (traceMode === 'turn') {
        // the turn's own trace, not the session's (the live span ran in the session's trace)
        expect(line.trace_id).toBe(userTurn.traceId);
        expect(line.trace_id).not.toBe(session.traceId);
      } else {
        expect(line.trace_id).toBe(session.traceId);
      }

      // 3. the report puts it on that turn, with the same ids, and the HTML shows it
      const report = JSON.parse(readFileSync(result.report, 'utf8')) as SessionReportJson;
      const turn = report.voicetrace.turns.find((t) => t.index === 1)!;
      const logged = turn.logs.find((l) => l.message === TOOL_WARNING);
      expect(logged).toMatchObject({ level: 'warn', trace_id: line.trace_id, span_id: line.span_id });
      // the SDK runs onUserTurnCompleted in the session span's context, not a turn's: its lines carry
      // the session span's ids (the session trace, also in turn mode), and the report puts them on the
      // turn in progress
      const callback = pino.filter((l) => l.msg === CALLBACK_WARNING);
      expect(callback.map((l) => collectorOutput(collector).spans.find((s) => s.spanId === l.span_id)?.name)).toEqual(['agent_session', 'agent_session']);
      expect(callback.map((l) => l.trace_id)).toEqual([session.traceId, session.traceId]);
      expect(report.voicetrace.turns.filter((t) => t.logs.some((l) => l.message === CALLBACK_WARNING)).map((t) => t.index)).toEqual([1, 2]);
      expect(readFileSync(result.html, 'utf8')).toContain(TOOL_WARNING);
      expect(result.logs.failedRecords).toBe(0);
      const other = turn.logs.filter((l) => l.level !== 'warn' && l.level !== 'error' && l.level !== 'fatal');
      expect(other, 'only warnings and errors go to the report').toEqual([]);
      console.log(`[logs] ${traceMode} mode: "${TOOL_WARNING}" trace ${line.trace_id} span ${line.span_id} (span ${span.name}); ${result.logs.exportedRecords} records exported; report turn 1 logs: ${turn.logs.length}`);
    }, 120_000);
  }
});
