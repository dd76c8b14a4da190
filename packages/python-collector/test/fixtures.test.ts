// The generated statements run by the real Collector over the spans of a real Python AgentSession
// (fixtures/livekit-agents-1.8.9.otlp.json, made by scripts/capture-fixtures.mjs), case by case. The
// expected attribute names are written out here, literally: a change in @voicetrace/conventions
// changes the generated overlay and fails a case, so the Python path cannot drift from the Node one
// unnoticed. Also: spans of other scopes and languages pass untouched, a malformed metrics JSON
// leaves its attributes unset and the span intact, and every price of the table costs what
// PriceBook.cost says.
import { DEFAULT_PRICES, PriceBook } from '@voicetrace/core';
import { backendOrSkip } from '@voicetrace/test-backends';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_PATH } from '../src/paths.js';
import { flatten, OverlayRoundTrip, type FlatSpan, type OtlpRequest, type Value } from './otlp-spans.js';

const bin = await backendOrSkip('collector');
const fixture = JSON.parse(readFileSync(FIXTURE_PATH, 'utf8')) as OtlpRequest;
const SESSION = 'fixture-session';

interface Case {
  span: string;
  /** voicetrace.stage, or none (plumbing). */
  stage?: string;
  /** langfuse.observation.type. */
  type: 'span' | 'generation' | 'tool' | 'agent';
  /** voicetrace attribute <- the SDK's attribute on the same span, same value (seconds stay seconds). */
  same?: Record<string, string>;
  /** voicetrace attribute <- a field of the span's metrics JSON (the SDK's attribute, then the field). */
  json?: { attribute: string; fields: Record<string, string> };
  fixed?: Record<string, Value>;
  cost?: 'llm' | 'tts';
}

const CASES: Case[] = [
  { span: 'agent_session', stage: 'session', type: 'span', fixed: { 'langfuse.trace.name': 'voice-session', 'gen_ai.conversation.id': SESSION } },
  { span: 'user_turn', stage: 'user_turn', type: 'span', same: { 'voicetrace.latency.eou_delay': 'lk.end_of_turn_delay', 'voicetrace.latency.transcription_delay': 'lk.transcription_delay', 'langfuse.observation.input': 'lk.pii.user_transcript' } },
  {
    span: 'agent_turn',
    stage: 'agent_turn',
    type: 'agent',
    same: {
      'voicetrace.latency.e2e': 'lk.e2e_latency',
      'voicetrace.latency.eou_delay': 'lk.end_of_turn_delay',
      'voicetrace.latency.transcription_delay': 'lk.transcription_delay',
      'voicetrace.latency.on_user_turn_completed_delay': 'lk.on_user_turn_completed_delay',
      'voicetrace.turn.interrupted': 'lk.interrupted',
      'langfuse.observation.input': 'lk.pii.user_input',
    },
    fixed: { 'gen_ai.conversation.id': SESSION, 'langfuse.observation.level': 'DEFAULT' },
  },
  {
    span: 'llm_request',
    stage: 'llm',
    type: 'generation',
    json: { attribute: 'lk.llm_metrics', fields: { 'voicetrace.duration': 'duration', 'voicetrace.cancelled': 'cancelled', 'voicetrace.llm.tokens_per_second': 'tokens_per_second', 'gen_ai.usage.cache_read.input_tokens': 'prompt_cached_tokens', 'gen_ai.response.time_to_first_chunk': 'ttft' } },
    fixed: { 'gen_ai.conversation.id': SESSION },
    cost: 'llm',
  },
  {
    span: 'tts_request',
    stage: 'tts',
    type: 'generation',
    json: { attribute: 'lk.tts_metrics', fields: { 'gen_ai.response.time_to_first_chunk': 'ttfb', 'voicetrace.duration': 'duration', 'voicetrace.tts.audio_duration': 'audio_duration', 'voicetrace.tts.characters': 'characters_count', 'voicetrace.streamed': 'streamed', 'voicetrace.cancelled': 'cancelled' } },
    same: { 'langfuse.observation.input': 'lk.pii.input_text' },
    fixed: { 'gen_ai.operation.name': 'text_to_speech', 'gen_ai.output.type': 'speech', 'gen_ai.conversation.id': SESSION },
    cost: 'tts',
  },
  { span: 'function_tool', stage: 'tool', type: 'tool', fixed: { 'gen_ai.conversation.id': SESSION } },
  { span: 'update_agent', stage: 'handoff', type: 'span', same: { 'voicetrace.handoff.from_agent': 'lk.previous_agent_label', 'voicetrace.handoff.to_agent': 'lk.agent_label', 'langfuse.observation.input': 'lk.previous_agent_label', 'langfuse.observation.output': 'lk.agent_label' } },
  { span: 'eou_wait', stage: 'eou', type: 'span', same: { 'voicetrace.eou.delay': 'lk.eou.wait_duration' } },
  // plumbing: no stage; plain spans in LangFuse, even those that name a model
  ...['llm_node', 'tts_node', 'llm_request_run', 'tts_request_run', 'tts_stream_adapter', 'start_agent_activity', 'user_speaking', 'agent_speaking', 'on_user_turn_completed', 'session_start', 'session_close', 'setup_toolsets', 'on_enter', 'on_exit', 'drain_agent_activity'].map(
    (span): Case => ({ span, type: 'span' }),
  ),
];

/** Attributes the overlay rewrites on purpose (everything else the SDK wrote must come out as it went in). */
const REWRITTEN = new Set(['gen_ai.conversation.id', 'gen_ai.provider.name', 'langfuse.observation.completion_start_time']);

let roundTrip: OverlayRoundTrip | undefined;
let input: FlatSpan[] = [];
let output = new Map<string, FlatSpan>();

beforeAll(async () => {
  if (!bin) return;
  roundTrip = await OverlayRoundTrip.start();
  input = flatten(fixture);
  output = new Map((await roundTrip.process(fixture)).map((s) => [s.spanId, s]));
});
afterAll(async () => roundTrip?.stop());

const json = (span: FlatSpan, key: string) => JSON.parse(String(span.attributes[key])) as Record<string, unknown>;

describe.skipIf(!bin)('the Python overlay over a real livekit-agents 1.8.9 session (fixture)', () => {
  it('every span name of the fixture has a case (a new SDK span shows up here)', () => {
    expect(new Set(input.map((s) => s.name))).toEqual(new Set(CASES.map((c) => c.span)));
  });

  it.each(CASES)('$span: stage $stage, LangFuse type $type, its attributes', (c) => {
    const spans = input.filter((s) => s.name === c.span);
    expect(spans.length).toBeGreaterThan(0);
    for (const before of spans) {
      const after = output.get(before.spanId)!;
      const a = after.attributes;
      expect(a['voicetrace.stage']).toBe(c.stage);
      expect(a['langfuse.observation.type']).toBe(c.type);
      expect(a['session.id']).toBe(SESSION);
      expect(a['deployment.environment.name']).toBe('test');
      for (const [key, value] of Object.entries(before.attributes)) if (!REWRITTEN.has(key)) expect(a[key], key).toEqual(value);
      for (const [ours, sdk] of Object.entries(c.same ?? {})) if (before.attributes[sdk] !== undefined && before.attributes[sdk] !== '') expect(a[ours], ours).toEqual(before.attributes[sdk]);
      for (const [key, value] of Object.entries(c.fixed ?? {})) expect(a[key], key).toEqual(value);
      if (c.json) {
        const metrics = JSON.parse(String(before.attributes[c.json.attribute])) as Record<string, number | boolean>;
        for (const [ours, field] of Object.entries(c.json.fields)) expect(a[ours], `${ours} <- ${field}`).toEqual(metrics[field]);
      }
      if (c.cost) {
        const m = JSON.parse(String(before.attributes[c.cost === 'llm' ? 'lk.llm_metrics' : 'lk.tts_metrics'])) as Record<string, number>;
        const ref = { provider: String(a['gen_ai.provider.name']), model: String(a['gen_ai.request.model']) };
        const cost = c.cost === 'llm'
          ? new PriceBook().cost(ref, { inputTokens: m.prompt_tokens, cachedInputTokens: m.prompt_cached_tokens, outputTokens: m.completion_tokens })
          : new PriceBook().cost(ref, { characters: m.characters_count });
        expect(cost).toBeGreaterThan(0);
        expect(a['voicetrace.cost'] as number).toBeCloseTo(cost!, 12);
        expect(json(after, 'langfuse.observation.cost_details').total as number).toBeCloseTo(cost!, 12);
      }
    }
  });

  it('LLM generations: usage details as the Node mapping writes them (input without its cached part, explicit total)', () => {
    for (const before of input.filter((s) => s.name === 'llm_request')) {
      const after = output.get(before.spanId)!;
      const m = JSON.parse(String(before.attributes['lk.llm_metrics'])) as Record<string, number>;
      expect(json(after, 'langfuse.observation.usage_details')).toEqual({ input: m.prompt_tokens! - m.prompt_cached_tokens!, input_cached_tokens: m.prompt_cached_tokens, output: m.completion_tokens, total: m.prompt_tokens! + m.completion_tokens! });
    }
    for (const before of input.filter((s) => s.name === 'tts_request')) {
      const m = JSON.parse(String(before.attributes['lk.tts_metrics'])) as Record<string, number>;
      expect(json(output.get(before.spanId)!, 'langfuse.observation.usage_details')).toEqual({ tts_characters: m.characters_count, tts_audio_ms: Math.round(m.audio_duration! * 1000), total: 0 });
    }
  });

  it('completion start = span start (ms) + time to first chunk, so LangFuse\'s TTFT is the span\'s own within 1 ms', () => {
    for (const after of [...output.values()].filter((s) => s.name === 'llm_request' || s.name === 'tts_request')) {
      const start = Math.floor(Number(BigInt(after.startTimeUnixNano) / 1000n) / 1000);
      const ttft = Date.parse(String(after.attributes['langfuse.observation.completion_start_time'])) - start;
      expect(Math.abs(ttft - (after.attributes['gen_ai.response.time_to_first_chunk'] as number) * 1000)).toBeLessThanOrEqual(1);
    }
  });

  it('one session id on every span, also where the SDK stamped only its job\'s room', async () => {
    expect(new Set([...output.values()].map((s) => s.attributes['session.id']))).toEqual(new Set([SESSION]));
    // without the SDK metadata (a job whose agent does not pass it): the room sid the SDK stamps
    const request = retag(fixture, { dropAttributes: ['session.id'] });
    const spans = await roundTrip!.process(request);
    expect(new Set(spans.map((s) => s.attributes['session.id']))).toEqual(new Set([input[0]!.attributes['room_id']]));
  });
});

describe.skipIf(!bin)('bad input', () => {
  it('spans of another scope, or the Node SDK\'s own (language nodejs), pass through untouched', async () => {
    for (const request of [retag(fixture, { scope: 'some-other-library' }), retag(fixture, { language: 'nodejs' })]) {
      const before = flatten(request);
      const after = new Map((await roundTrip!.process(request)).map((s) => [s.spanId, s]));
      for (const span of before) expect(after.get(span.spanId)!.attributes, span.name).toEqual(span.attributes);
    }
  });

  it('a malformed metrics JSON leaves its attributes unset and the span intact (and is logged)', async () => {
    const request = retag(fixture, { only: ['llm_request', 'tts_request'], replace: { 'lk.llm_metrics': '{"duration": 0.5, "ttft":', 'lk.tts_metrics': 'not json' } });
    const before = flatten(request);
    const after = new Map((await roundTrip!.process(request)).map((s) => [s.spanId, s]));
    for (const span of before) {
      const a = after.get(span.spanId)!.attributes;
      for (const key of ['voicetrace.duration', 'voicetrace.cancelled', 'voicetrace.llm.tokens_per_second', 'voicetrace.tts.characters', 'voicetrace.tts.audio_duration', 'voicetrace.streamed']) expect(a[key], key).toBeUndefined();
      for (const [key, value] of Object.entries(span.attributes)) if (!REWRITTEN.has(key)) expect(a[key], key).toEqual(value);
      expect(a['voicetrace.stage']).toBe(span.name === 'llm_request' ? 'llm' : 'tts');
    }
    expect(roundTrip!.warnings().some((line) => line.includes('ParseJSON'))).toBe(true);
  });
});

describe.skipIf(!bin)('every price of the table costs what PriceBook.cost says', () => {
  const usage = { inputTokens: 1200, cachedInputTokens: 256, outputTokens: 90, characters: 333 };
  const refs = [
    ...Object.keys(DEFAULT_PRICES).map((key) => {
      const [provider, ...model] = key.split('/');
      return { provider: provider!, model: model.join('/').replace(/\*$/, 'voice-x') };
    }),
    { provider: 'livekit', model: 'deepgram/nova-3' },
    { provider: 'OpenAI', model: 'GPT-4o-mini' },
    { provider: 'acme', model: 'unpriced-1' },
  ];
  it.each(refs)('$provider/$model', async (ref) => {
    const trace = '0af7651916cd43dd8448eb211c80319c';
    const request = {
      resourceSpans: [{
        resource: { attributes: [{ key: 'telemetry.sdk.language', value: { stringValue: 'python' } }] },
        scopeSpans: [{
          scope: { name: 'livekit-agents' },
          spans: [
            { traceId: trace, spanId: randomId(), name: 'llm_request', startTimeUnixNano: '1796479272000000000', endTimeUnixNano: '1796479273000000000', attributes: kvs({ 'gen_ai.provider.name': ref.provider, 'gen_ai.request.model': ref.model, 'gen_ai.usage.input_tokens': { intValue: '1200' }, 'gen_ai.usage.output_tokens': { intValue: '90' }, 'lk.llm_metrics': JSON.stringify({ duration: 1, ttft: 0.3, cancelled: false, tokens_per_second: 90, prompt_cached_tokens: 256 }) }) },
            { traceId: trace, spanId: randomId(), name: 'tts_request', startTimeUnixNano: '1796479272000000000', endTimeUnixNano: '1796479273000000000', attributes: kvs({ 'gen_ai.provider.name': ref.provider, 'gen_ai.request.model': ref.model, 'lk.tts_metrics': JSON.stringify({ ttfb: 0.2, duration: 1, audio_duration: 4, characters_count: 333, streamed: false, cancelled: false, input_tokens: 0, output_tokens: 0 }) }) },
          ],
        }],
      }],
    } as unknown as OtlpRequest;
    const spans = await roundTrip!.process(request);
    const book = new PriceBook();
    const llmCost = book.cost(ref, { inputTokens: usage.inputTokens, cachedInputTokens: usage.cachedInputTokens, outputTokens: usage.outputTokens });
    const ttsCost = book.cost(ref, { characters: usage.characters });
    const of = (name: string) => spans.find((s) => s.name === name)!.attributes['voicetrace.cost'] as number | undefined;
    if (llmCost === undefined) expect(of('llm_request')).toBeUndefined();
    else expect(of('llm_request')).toBeCloseTo(llmCost, 12);
    if (ttsCost === undefined) expect(of('tts_request')).toBeUndefined();
    else expect(of('tts_request')).toBeCloseTo(ttsCost, 12);
  });
});

function randomId(): string {
  return [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function kvs(attributes: Record<string, string | { intValue: string }>) {
  return Object.entries(attributes).map(([key, value]) => ({ key, value: typeof value === 'string' ? { stringValue: value } : value }));
}

/** The fixture with new span ids, and a changed scope, language, attributes or subset of spans. */
function retag(request: OtlpRequest, change: { scope?: string; language?: string; dropAttributes?: string[]; only?: string[]; replace?: Record<string, string> }): OtlpRequest {
  const copy = JSON.parse(JSON.stringify(request)) as OtlpRequest;
  const ids = new Map<string, string>();
  const id = (old: string) => ids.get(old) ?? (ids.set(old, randomId()), ids.get(old)!);
  for (const rs of copy.resourceSpans) {
    if (change.language) rs.resource!.attributes = rs.resource!.attributes!.map((kv) => (kv.key === 'telemetry.sdk.language' ? { key: kv.key, value: { stringValue: change.language } } : kv));
    for (const ss of rs.scopeSpans) {
      if (change.scope) ss.scope = { name: change.scope };
      ss.spans = ss.spans.filter((s) => !change.only || change.only.includes(s.name));
      for (const s of ss.spans) {
        s.spanId = id(s.spanId);
        if (s.parentSpanId) s.parentSpanId = id(s.parentSpanId);
        s.attributes = (s.attributes ?? [])
          .filter((kv) => !change.dropAttributes?.includes(kv.key))
          .map((kv) => (change.replace?.[kv.key] !== undefined ? { key: kv.key, value: { stringValue: change.replace[kv.key] } } : kv));
      }
    }
  }
  return copy;
}
