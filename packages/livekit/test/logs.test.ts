// Logs beside the trace (issue #12): OTel log records written inside a session's spans get the ids
// those spans are exported under (also in trace-per-turn mode, where the exported trace id is not
// the live one), reach the logs exporter, and the turn's warnings land on that turn of the session
// model (the report's voicetrace.turns[].logs). Pino itself is instrumented by
// `node --import @voicetrace/livekit/register` (examples/demo/test/logs.test.ts runs it for real).
import { voice, initializeLogger } from '@livekit/agents';
import { ROOT_CONTEXT, context } from '@opentelemetry/api';
import { SeverityNumber, logs } from '@opentelemetry/api-logs';
import { InMemoryLogRecordExporter, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { LIVEKIT_SCOPE } from '@voicetrace/conventions';
import { describe, expect, it } from 'vitest';
import { logsGlobal } from '../src/logs.js';
import { setupVoiceTrace } from '../src/setup.js';

initializeLogger({ pretty: false, level: 'silent' });

/** One session with a user turn and an agent turn, a warning logged inside the agent turn and one outside any span. */
async function sessionWithLogs(traceMode: 'session' | 'turn') {
  const spans = new InMemorySpanExporter();
  const records: ReadableLogRecord[] = [];
  const exporter = new InMemoryLogRecordExporter();
  const keep = exporter.export.bind(exporter);
  // the in-memory exporter forgets its records at shutdown: keep them
  exporter.export = (batch, done) => {
    records.push(...batch);
    keep(batch, done);
  };
  const vt = setupVoiceTrace({ exporters: [spans], logs: { exporter }, traceMode, handleSignals: false, journal: false, report: false, warnings: false, batch: { scheduledDelayMillis: 10 } });
  const agentSession = new voice.AgentSession({});
  const traced = vt.instrument(agentSession, { sessionId: `logs-${traceMode}` });
  const tracer = vt.provider.getTracer(LIVEKIT_SCOPE);
  const logger = logs.getLogger('agent-code');
  const live: { turn?: { traceId: string; spanId: string } } = {};
  await tracer.startActiveSpan('agent_session', async (session) => {
    const userTurn = tracer.startSpan('user_turn');
    agentSession.emit(voice.AgentSessionEventTypes.UserInputTranscribed, { type: 'user_input_transcribed', transcript: 'what is the weather', isFinal: true, language: 'en', createdAt: Date.now(), speakerId: null } as never);
    userTurn.end();
    await tracer.startActiveSpan('agent_turn', { attributes: { 'lk.speech_id': 'speech_1' } }, async (turn) => {
      live.turn = turn.spanContext();
      logger.emit({ severityNumber: SeverityNumber.WARN, severityText: 'WARN', body: 'weather service slow, using the cached answer' });
      logger.emit({ severityNumber: SeverityNumber.INFO, severityText: 'INFO', body: 'an info line is exported, not put in the report' });
      turn.end();
    });
    // a warning outside any span (a timer, a callback) still belongs to the only session running here (no ids)
    context.with(ROOT_CONTEXT, () => logger.emit({ severityNumber: SeverityNumber.ERROR, severityText: 'ERROR', body: 'late error' }));
    session.end();
  });
  const mapped = logsGlobal().exportedIds?.(live.turn!.traceId, live.turn!.spanId);
  await vt.forceFlush();
  const summary = traced.summary();
  // the in-memory exporter forgets its spans at shutdown too
  const finished = [...spans.getFinishedSpans()];
  await vt.shutdown();
  return { spans: finished, records, summary, live: live.turn!, mapped, vt };
}

const exportedTurn = (spans: ReadableSpan[]) => spans.find((s) => s.name === 'agent_turn')!;

describe('logs beside the trace', () => {
  it('trace-per-turn mode: a record written in a turn carries the ids its span is exported under, and the warning is on that turn', async () => {
    const { spans, records, summary, live, mapped } = await sessionWithLogs('turn');
    const turnSpan = exportedTurn(spans);
    // in turn mode the exported turn trace is not the live one
    expect(turnSpan.spanContext().traceId).not.toBe(live.traceId);
    const warning = records.find((r) => r.body === 'weather service slow, using the cached answer')!;
    expect(warning.spanContext).toMatchObject({ traceId: turnSpan.spanContext().traceId, spanId: turnSpan.spanContext().spanId });
    // the mapping pino's trace_id uses (register.mts) is the same
    expect(mapped).toEqual({ traceId: turnSpan.spanContext().traceId, spanId: live.spanId });
    expect(warning.resource.attributes['service.instance.id']).toMatch(/^[0-9a-f-]{36}$/);
    const turn = summary.turns.find((t) => t.index === 1)!;
    expect(turn.logs).toEqual([
      { at: expect.any(Number), level: 'warn', message: 'weather service slow, using the cached answer', traceId: turnSpan.spanContext().traceId, spanId: turnSpan.spanContext().spanId },
      { at: expect.any(Number), level: 'error', message: 'late error', traceId: undefined, spanId: undefined },
    ]);
    expect(records.map((r) => r.body)).toContain('an info line is exported, not put in the report');
  });

  it('session mode: the ids are the live ones, which are the exported ones', async () => {
    const { spans, records, summary, live } = await sessionWithLogs('session');
    const turnSpan = exportedTurn(spans);
    expect(turnSpan.spanContext().traceId).toBe(live.traceId);
    const warning = records.find((r) => r.body === 'weather service slow, using the cached answer')!;
    expect(warning.spanContext).toMatchObject({ traceId: live.traceId, spanId: live.spanId });
    expect(summary.turns.find((t) => t.index === 1)!.logs[0]).toMatchObject({ level: 'warn', traceId: live.traceId, spanId: live.spanId });
  });

  it('logs: false turns both off; a second setup in the process takes the global logger over', async () => {
    const off = setupVoiceTrace({ logs: false, metrics: false, handleSignals: false, journal: false, report: false, warnings: false });
    expect(off.logs).toBeUndefined();
    await off.shutdown();
    const first = await sessionWithLogs('session');
    const second = await sessionWithLogs('session');
    expect(first.records.length).toBeGreaterThan(0);
    expect(second.records.length).toBe(first.records.length);
  });
});
