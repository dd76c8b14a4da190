import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { reportFromTraces, reportsFromTraces, TracesError } from '../src/traces/from-traces.js';
import { validateReport } from '../src/validate.js';
import { DEMO_TRACES_PATH, FIXTURES, demoReport } from './helpers/sessions.js';
import { join } from 'node:path';

const expected = demoReport();
const tracesText = readFileSync(DEMO_TRACES_PATH, 'utf8');

describe('reportFromTraces: the demo call rebuilt from its spans', () => {
  it('validates, and agrees with the report the agent wrote on every per-turn latency figure, wait slice and cost', async () => {
    const report = await reportFromTraces({ path: DEMO_TRACES_PATH });
    expect(validateReport(report)).toEqual([]);
    const v = report.voicetrace;
    const w = expected.voicetrace;
    expect(v.session_id).toBe(w.session_id);
    expect(v.turns.map((t) => t.index)).toEqual(w.turns.map((t) => t.index));
    const got = v.turns.flatMap((t) => t.replies);
    const want = w.turns.flatMap((t) => t.replies);
    expect(got.map((r) => r.speech_id)).toEqual(want.map((r) => r.speech_id));
    for (const [i, reply] of got.entries()) {
      const ref = want[i]!;
      expect(reply.latency, reply.speech_id).toEqual(ref.latency);
      expect(reply.wait, reply.speech_id).toEqual(ref.wait);
      expect(reply.cost, reply.speech_id).toBe(ref.cost);
      expect(reply.trace, reply.speech_id).toEqual(ref.trace);
      expect(reply.interrupted).toBe(ref.interrupted);
      expect(reply.agent).toBe(ref.agent);
      expect(reply.text).toBe(ref.text);
      expect(reply.llm.map((s) => [s.model, s.ttft, s.input_tokens, s.output_tokens, s.cost])).toEqual(ref.llm.map((s) => [s.model, s.ttft, s.input_tokens, s.output_tokens, s.cost]));
      expect(reply.tts.map((s) => [s.ttfb, s.characters, s.cost])).toEqual(ref.tts.map((s) => [s.ttfb, s.characters, s.cost]));
      expect(reply.tools.map((s) => [s.name, s.arguments, s.output])).toEqual(ref.tools.map((s) => [s.name, s.arguments, s.output]));
      expect(reply.first_audio_at).toBeCloseTo(ref.first_audio_at!, 5);
      expect(reply.interruptions.map((x) => [x.overlap, x.stopped_agent])).toEqual(ref.interruptions.map((x) => [x.overlap, x.stopped_agent]));
    }
    // the session's figures: cost, usage per model, every percentile, counts, handoffs
    expect(v.cost).toBe(w.cost);
    expect(v.usage).toEqual(w.usage);
    // the fixture's report predates the percentiles' mean: compare the figures it has
    const withoutMean = (figures: Record<string, object>) => Object.fromEntries(Object.entries(figures).map(([k, p]) => [k, { ...p, mean: undefined }]));
    expect(withoutMean(v.latency)).toEqual(withoutMean(w.latency));
    expect(withoutMean(v.wait)).toEqual(withoutMean(w.wait));
    expect([v.user_turns, v.replies, v.interruptions, v.errors]).toEqual([w.user_turns, w.replies, w.interruptions, w.errors]);
    expect(v.handoffs.map((h) => [h.turn_index, h.from_agent, h.to_agent])).toEqual(w.handoffs.map((h) => [h.turn_index, h.from_agent, h.to_agent]));
    expect(v.trace.trace_id).toBe(w.trace.trace_id);
    expect(v.pii_included).toBe(true);
    // the user side of each turn
    for (const [i, turn] of v.turns.entries()) {
      const ref = w.turns[i]!;
      expect(turn.user?.transcript).toBe(ref.user?.transcript);
      expect(turn.user?.speech_end).toBe(ref.user?.speech_end);
      expect(turn.user?.stt.map((s) => [s.latency, s.audio_duration, s.cost])).toEqual(ref.user?.stt.map((s) => [s.latency, s.audio_duration, s.cost]));
      expect(turn.user?.eou?.delay).toBe(ref.user?.eou?.delay);
    }
    // SDK fields: neutral values that validate
    expect(report.events).toEqual([]);
    expect(report.audio_recording_path).toBeNull();
    expect(report.job_id).toBe('demo-job');
  });

  it('accepts JSONL text, fills link templates, and groups several sessions in one file by session.id', async () => {
    const other = tracesText.replaceAll(expected.voicetrace.session_id, 'sess_other').replaceAll(expected.voicetrace.trace.trace_id!, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
    const { reports, problems } = await reportsFromTraces(`${tracesText}\n${other}`, { linkTemplates: { jaeger: 'http://localhost:16686/trace/{trace_id}' } });
    expect(problems).toEqual([]);
    expect(reports.map((r) => r.voicetrace.session_id).sort()).toEqual(['sess_other', expected.voicetrace.session_id].sort());
    const second = reports.find((r) => r.voicetrace.session_id === 'sess_other')!;
    expect(second.voicetrace.trace.links.jaeger).toBe('http://localhost:16686/trace/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
    expect(second.voicetrace.cost).toBe(expected.voicetrace.cost);
    await expect(reportFromTraces(`${tracesText}\n${other}`)).rejects.toThrow(/2 sessions .*choose one with sessionId/);
    const picked = await reportFromTraces(`${tracesText}\n${other}`, { sessionId: 'sess_other' });
    expect(picked.voicetrace.session_id).toBe('sess_other');
  });

  it('skips bad lines with their line number and reason, and keeps the rest', async () => {
    const lines = tracesText.trimEnd().split('\n');
    const text = [lines[0], '{"resourceSpans": "nope"}', 'not json at all', '[1,2,3]', ...lines.slice(1), lines[1]!.slice(0, 500)].join('\n');
    const { reports, problems } = await reportsFromTraces(text, { name: 'mixed.jsonl' });
    expect(reports).toHaveLength(1);
    expect(problems.map((p) => [p.line, p.reason.split(':')[0]])).toEqual([
      [2, 'not an OTLP/JSON trace request'],
      [3, 'not valid JSON'],
      [4, 'expected a JSON object (an OTLP ExportTraceServiceRequest), got an array'],
      [lines.length + 4, 'truncated'],
    ]);
    expect(problems.every((p) => p.file === 'mixed.jsonl')).toBe(true);
  });

  it('an older trace: the figures it does not carry are named in not_in_traces, never re-derived', async () => {
    // written before the span view carried the session statistics, the reply's own cost and request starts
    const report = await reportFromTraces({ path: join(FIXTURES, 'older-demo-traces.jsonl') });
    expect(validateReport(report)).toEqual([]);
    const v = report.voicetrace;
    expect(v.not_in_traces).toEqual(
      expect.arrayContaining([
        'latency and wait statistics (voicetrace.session.stats)',
        "the reply's own cost (voicetrace.reply.cost)",
        'request start times (voicetrace.request.started_at): the span start is shown',
      ]),
    );
    expect(v.latency).toEqual({});
    expect(v.wait).toEqual({});
    // what it does carry is read as before: counts, cost, per-reply latency
    expect([v.replies, v.interruptions]).toEqual([6, 1]);
    expect(v.turns.flatMap((t) => t.replies).filter((r) => r.latency?.e2e !== undefined)).toHaveLength(6);
    // the current demo trace carries every figure
    expect((await reportFromTraces({ path: DEMO_TRACES_PATH })).voicetrace.not_in_traces).toBeUndefined();
  });

  it('skips spans of the wrong types, lines over the size limit, and says when there is no session', async () => {
    // the fixture's third request: seven SDK spans in its first scope
    const request = JSON.parse(tracesText.split('\n')[2]!);
    const spans = request.resourceSpans[0].scopeSpans[0].spans;
    spans[0].traceId = 42;
    spans[1].startTimeUnixNano = { evil: true };
    spans[2].attributes = 'not a list';
    const lines = tracesText.split('\n');
    const { reports, problems } = await reportsFromTraces([...lines.slice(0, 2), JSON.stringify(request), ...lines.slice(3)].join('\n'), { maxLineBytes: 150_000 });
    expect(reports).toHaveLength(1);
    expect(problems.some((p) => /2 span\(s\) skipped: traceId a number is not 32 hex digits/.test(p.reason))).toBe(true);
    await expect(reportFromTraces('{"resourceSpans":[]}')).rejects.toBeInstanceOf(TracesError);
    const huge = await reportsFromTraces(`${'{"resourceSpans":[], "pad": "'}${'x'.repeat(2_000_000)}"}\n${tracesText}`, { maxLineBytes: 1_000_000 });
    expect(huge.reports).toHaveLength(1);
    expect(huge.problems[0]).toMatchObject({ line: 1, reason: expect.stringMatching(/line is 2000031 bytes, over the 1000000-byte limit: skipped/) });
  });

  it('streams a file line by line with the same result as the text', async () => {
    const fromFile = await reportFromTraces(DEMO_TRACES_PATH);
    const fromText = await reportFromTraces(tracesText);
    expect(fromFile).toEqual(fromText);
  });
});
