// The trace contract on a realtime (speech-to-speech) AgentSession: the demo's call through the
// scripted realtime model (greeting, tool call, barge-in, handoff), traced into the file and LangFuse.
import { ATTR, SPAN_NAME } from '@voicetrace/conventions';
import { startLangfuseContractServer, type LangfuseContractServer } from '@voicetrace/langfuse-contract';
import { reportFromTraces, validateReport, type SessionReportJson } from '@voicetrace/report';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo, type DemoResult } from '../src/run-demo.js';
import { readSpans, type FlatSpan } from './otlp-json.js';

const KEYS = { publicKey: 'pk-lf-rt', secretKey: 'sk-lf-rt' };
let langfuse: LangfuseContractServer;
let result: DemoResult;
let spans: FlatSpan[];
let report: SessionReportJson;
const byName = (name: string) => spans.filter((s) => s.name === name);
const parentOf = (span: FlatSpan) => spans.find((s) => s.spanId === span.parentSpanId);

beforeAll(async () => {
  langfuse = await startLangfuseContractServer(KEYS);
  result = await runDemo({ out: mkdtempSync(join(tmpdir(), 'voicetrace-realtime-')), realtime: true, voicetrace: { langfuse: { ...KEYS, baseUrl: langfuse.baseUrl } } });
  spans = readSpans(result.tracesPath);
  report = JSON.parse(readFileSync(result.report.json!, 'utf8')) as SessionReportJson;
}, 120_000);

afterAll(async () => {
  await langfuse?.close();
});

describe('a realtime session is traced as fully as a pipeline one', () => {
  it('each response is the SDK\'s own realtime span, enriched (not duplicated): model, usage by modality, cost', () => {
    const responses = byName('realtime_inference');
    expect(responses).toHaveLength(9);
    expect(byName(SPAN_NAME.realtime)).toHaveLength(0);
    for (const span of responses) {
      expect(span.attributes[ATTR.STAGE]).toBe('realtime');
      expect(span.attributes[ATTR.REQUEST_MODEL]).toBe('gpt-4o-realtime-preview');
      // the greeting comes before the caller said anything: no audio in yet
      if ((span.attributes[ATTR.TURN_INDEX] as number) > 0) expect(span.attributes[ATTR.USAGE_AUDIO_INPUT] as number).toBeGreaterThan(0);
      expect(span.attributes[ATTR.USAGE_TEXT_INPUT] as number).toBeGreaterThan(0);
      expect(span.attributes[ATTR.COST] as number).toBeGreaterThan(0);
      expect(parentOf(span)?.name).toBe('agent_turn');
    }
  });

  it('a response with no audio (a tool call) has its -1 TTFT flagged, never exported as a latency', () => {
    const toolOnly = byName('realtime_inference').filter((s) => (s.attributes[ATTR.USAGE_AUDIO_OUTPUT] ?? 0) === 0);
    expect(toolOnly).toHaveLength(2);
    for (const span of toolOnly) {
      expect(span.attributes[ATTR.TIME_TO_FIRST_CHUNK]).toBeUndefined();
      expect(span.attributes[ATTR.IMPLAUSIBLE]).toContain('ttft');
    }
  });

  it('every user turn has input (its late transcript), output, cost and e2e with a wait that sums to it', () => {
    const replies = byName('agent_turn').filter((s) => s.attributes[ATTR.LATENCY_E2E] !== undefined);
    expect(replies).toHaveLength(6);
    for (const turn of replies) {
      expect(turn.attributes[ATTR.PII_USER_TRANSCRIPT], turn.spanId).toBeTruthy();
      expect(turn.attributes['lk.pii.response.text'] ?? turn.attributes[ATTR.PII_RESPONSE_TEXT], turn.spanId).toBeTruthy();
      expect(turn.attributes[ATTR.TURN_COST] as number).toBeGreaterThan(0);
      const wait = JSON.parse(turn.attributes[ATTR.WAIT_BREAKDOWN] as string) as Array<{ key: string; seconds: number }>;
      expect(wait.reduce((sum, w) => sum + w.seconds, 0)).toBeCloseTo(turn.attributes[ATTR.LATENCY_E2E] as number, 9);
      expect(wait.map((w) => w.key)).toEqual(expect.arrayContaining(['endpointing_delay', 'llm_ttft', 'playout_start']));
    }
    expect(replies.filter((t) => t.attributes[ATTR.TURN_INTERRUPTED] === true)).toHaveLength(1);
  });

  it('the late transcript lands on its own turn', () => {
    // every transcript arrived after its reply started: the turn's spans waited for it
    const turns = report.voicetrace.turns.filter((t) => t.user);
    expect(turns.map((t) => t.user!.transcript)).toEqual([
      'Hi, what is the weather like in Paris today?',
      'Great, and what are your opening hours?',
      'And on Sundays, what are your opening hours?',
      'Sorry, actually I have a question about my bill.',
      'Why was I charged twice this month?',
      'Okay thanks, that is all.',
    ]);
    for (const turn of turns) for (const reply of turn.replies) expect(reply.started_at).toBeLessThan(turn.user!.final_transcript_at! + 1);
    const late = turns.filter((t) => t.replies.some((r) => r.first_audio_at !== undefined && r.first_audio_at < t.user!.final_transcript_at!));
    expect(late.length).toBeGreaterThanOrEqual(3);
    for (const span of byName('realtime_inference').filter((s) => (s.attributes[ATTR.TURN_INDEX] as number) > 0)) {
      expect(span.attributes[ATTR.PII_USER_TRANSCRIPT], `${span.spanId} turn ${span.attributes[ATTR.TURN_INDEX]}`).toBeTruthy();
    }
    expect(spans.filter((s) => s.attributes[ATTR.DATA_INCOMPLETE] === true)).toEqual([]);
  });

  it('the report has every realtime turn with usage by modality and cost, and validates', () => {
    expect(validateReport(report)).toEqual([]);
    const responses = report.voicetrace.turns.flatMap((t) => t.replies).flatMap((r) => r.realtime);
    expect(responses).toHaveLength(9);
    expect(responses.every((r) => r.input_text_tokens > 0 && (r.cost ?? 0) > 0)).toBe(true);
    expect(responses.filter((r) => r.input_audio_tokens > 0)).toHaveLength(8);
    const usage = report.voicetrace.usage.find((u) => u.type === 'llm_usage')!;
    expect(usage.provider).toBe('openai');
    expect(usage.input_audio_tokens as number).toBeGreaterThan(0);
    expect(report.voicetrace.cost).toBeCloseTo(responses.reduce((sum, r) => sum + (r.cost ?? 0), 0), 9);
  });

  it('the report rebuilt from the traces has the same user speech, first audio times and counts as the live one', async () => {
    const rebuilt = (await reportFromTraces({ path: result.tracesPath })).voicetrace;
    const live = report.voicetrace;
    const view = (v: SessionReportJson['voicetrace']) => ({
      turns: v.turns.map((t) => ({ index: t.index, speechStart: t.user?.speech_start, speechEnd: t.user?.speech_end, firstAudio: t.replies.map((r) => r.first_audio_at), e2e: t.replies.map((r) => r.latency?.e2e) })),
      counts: [v.user_turns, v.replies, v.interruptions, v.errors],
    });
    expect(view(rebuilt)).toEqual(view(live));
    expect(live.turns.filter((t) => t.user?.speech_end !== undefined)).toHaveLength(6);
    expect(live.turns.flatMap((t) => t.replies).filter((r) => r.first_audio_at !== undefined)).toHaveLength(6);
  });

  it('LangFuse sees one generation per realtime response, with model, usage, cost, input and output', () => {
    const generations = langfuse.observations().filter((o) => o.type === 'GENERATION');
    expect(generations).toHaveLength(9);
    for (const g of generations) {
      expect(g.model).toBe('gpt-4o-realtime-preview');
      expect(g.usageDetails.total).toBeGreaterThan(0);
      expect(g.costDetails.total).toBeGreaterThan(0);
    }
    expect(generations.filter((g) => (g.usageDetails.input_audio ?? 0) > 0)).toHaveLength(8);
    const spoken = generations.filter((g) => g.usageDetails.output_audio > 0 && langfuse.spans.find((s) => s.spanId === g.id)!.attributes[ATTR.TURN_INDEX] as number > 0);
    for (const g of spoken) {
      expect(g.input, g.id).toBeTruthy();
      expect(g.output, g.id).toBeTruthy();
    }
  });
});
