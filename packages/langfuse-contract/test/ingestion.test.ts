// The contract server's port of LangFuse's ingestion rules (src/ingestion.ts): each rule on the
// cases that matter for LiveKit spans, as LangFuse's code at the ported commit decides them.
import { describe, expect, it } from 'vitest';
import {
  TraceLedger,
  completionStartTimeOf,
  costDetailsOf,
  inputOutputOf,
  observationLevelOf,
  observationTypeOf,
  sessionIdOf,
  toObservation,
  usageDetailsOf,
  type ReceivedSpan,
} from '../src/index.js';

const LK = 'livekit-agents';
const received = (overrides: Partial<ReceivedSpan> = {}): ReceivedSpan => ({
  traceId: 'a'.repeat(32),
  spanId: 'b'.repeat(16),
  parentSpanId: 'c'.repeat(16),
  name: 'x',
  kind: 1,
  startTimeUnixNano: '1800000000123456789',
  endTimeUnixNano: '1800000001000000000',
  attributes: {},
  resourceAttributes: {},
  scopeName: LK,
  status: { code: 0 },
  events: [],
  links: [],
  ...overrides,
});

describe('observation type (ObservationTypeMapper)', () => {
  it('an explicit langfuse.observation.type wins; an unknown value falls through', () => {
    expect(observationTypeOf({ 'langfuse.observation.type': 'span', 'gen_ai.operation.name': 'create_agent' }, LK, 'start_agent_activity')).toBe('SPAN');
    expect(observationTypeOf({ 'langfuse.observation.type': 'bogus', 'gen_ai.operation.name': 'chat' }, LK, 'x')).toBe('GENERATION');
  });

  it('LiveKit plumbing becomes an AGENT by operation name and by span name; wrappers with a model become generations', () => {
    expect(observationTypeOf({ 'gen_ai.operation.name': 'create_agent' }, LK, 'start_agent_activity')).toBe('AGENT');
    expect(observationTypeOf({}, LK, 'start_agent_activity')).toBe('AGENT');
    expect(observationTypeOf({}, 'other-scope', 'start_agent_activity')).toBe('SPAN');
    expect(observationTypeOf({ 'gen_ai.request.model': 'gpt-4o-mini' }, LK, 'llm_node')).toBe('GENERATION');
    expect(observationTypeOf({}, LK, 'function_tool')).toBe('TOOL');
    expect(observationTypeOf({ 'gen_ai.tool.name': 'get_weather' }, 'voicetrace', 'anything')).toBe('TOOL');
    expect(observationTypeOf({ 'gen_ai.operation.name': 'speech_to_text', 'gen_ai.request.model': 'nova-3' }, 'voicetrace', 'stt_request')).toBe('GENERATION');
    expect(observationTypeOf({ 'gen_ai.operation.name': 'invoke_workflow' }, LK, 'agent_session')).toBe('SPAN');
  });
});

describe('observation level', () => {
  it('LiveKit names on the list are DEBUG (tts_request yes, llm_request no), other scopes are not', () => {
    expect(observationLevelOf({}, 0, LK, 'tts_request')).toBe('DEBUG');
    expect(observationLevelOf({}, 0, LK, 'start_agent_activity')).toBe('DEBUG');
    expect(observationLevelOf({}, 0, LK, 'llm_request')).toBe('DEFAULT');
    expect(observationLevelOf({}, 0, 'voicetrace', 'eou_detection')).toBe('DEFAULT');
    expect(observationLevelOf({}, 0, LK, 'eou_detection')).toBe('DEBUG');
  });

  it('an explicit level (or an alias) wins over the list and over the status; else status 2 is ERROR', () => {
    expect(observationLevelOf({ 'langfuse.observation.level': 'DEFAULT' }, 0, LK, 'tts_request')).toBe('DEFAULT');
    expect(observationLevelOf({ 'langfuse.observation.level': 'DEFAULT' }, 2, LK, 'tts_request')).toBe('DEFAULT');
    expect(observationLevelOf({ 'langfuse.observation.level': ' warn ' }, 0, LK, 'x')).toBe('WARNING');
    expect(observationLevelOf({ 'langfuse.observation.level': 'loud' }, 2, LK, 'tts_request')).toBe('ERROR');
    expect(observationLevelOf({}, 2, LK, 'tts_request')).toBe('ERROR');
  });
});

describe('usage, cost, completion start', () => {
  it('usage without total gets the sum of every key, whatever its unit; an explicit total stays', () => {
    expect(usageDetailsOf({ 'langfuse.observation.usage_details': '{"input_audio_ms":1820}' })).toEqual({ provided: { input_audio_ms: 1820 }, stored: { input_audio_ms: 1820, total: 1820 }, totalFilled: true });
    expect(usageDetailsOf({ 'langfuse.observation.usage_details': '{"stt_audio_ms":1820,"total":0}' }).stored).toEqual({ stt_audio_ms: 1820, total: 0 });
  });

  it('only non-negative integers survive the ingestion schema; bad JSON falls back to gen_ai.usage.*', () => {
    expect(usageDetailsOf({ 'langfuse.observation.usage_details': '{"a":1.5,"b":-1,"c":"7","d":3}' }).provided).toEqual({ c: 7, d: 3 });
    const generic = usageDetailsOf({ 'langfuse.observation.usage_details': '{oops', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.cache_read.input_tokens': 640, 'gen_ai.usage.output_tokens': 50 });
    expect(generic.stored).toEqual({ input: 360, input_cached_tokens: 640, output: 50, total: 1050 });
    expect(usageDetailsOf({ 'langfuse.observation.usage_details': 42 }).provided).toEqual({});
  });

  it('cost: the provided total, else input + output when those are the only keys; gen_ai.usage.cost as a fallback', () => {
    expect(costDetailsOf({ 'langfuse.observation.cost_details': '{"total":0.002}' })).toEqual({ details: { total: 0.002 }, total: 0.002 });
    expect(costDetailsOf({ 'langfuse.observation.cost_details': '{"input":1,"output":2}' })).toEqual({ details: { input: 1, output: 2, total: 3 }, total: 3 });
    expect(costDetailsOf({ 'gen_ai.usage.cost': 0.5 }).total).toBe(0.5);
    expect(costDetailsOf({}).total).toBeNull();
  });

  it('completion start: a date string (or a JSON-encoded one); TTFT is whole milliseconds from the truncated start', () => {
    expect(completionStartTimeOf({ 'langfuse.observation.completion_start_time': '2027-01-15T08:00:00.583Z' }, '2027-01-15T08:00:00.123Z')).toBe('2027-01-15T08:00:00.583Z');
    expect(completionStartTimeOf({ 'langfuse.observation.completion_start_time': '"2027-01-15T08:00:00.583Z"' }, '')).toBe('2027-01-15T08:00:00.583Z');
    expect(completionStartTimeOf({ 'langfuse.observation.completion_start_time': 'soon' }, '')).toBeNull();
    const observation = toObservation(received({ attributes: { 'langfuse.observation.completion_start_time': new Date(1_800_000_000_583).toISOString() } }));
    expect(observation.startTime).toBe(new Date(1_800_000_000_123).toISOString());
    expect(observation.timeToFirstTokenMs).toBe(460);
  });

  it('a model with no usage and no cost but some text is tokenized by LangFuse itself', () => {
    expect(toObservation(received({ attributes: { 'gen_ai.request.model': 'gpt-4o-mini', 'langfuse.observation.input': 'hello' } })).wouldTokenize).toBe(true);
    expect(toObservation(received({ attributes: { 'gen_ai.request.model': 'gpt-4o-mini' } })).wouldTokenize).toBe(false);
    expect(toObservation(received({ attributes: { 'gen_ai.request.model': 'm', 'langfuse.observation.input': 'x', 'langfuse.observation.cost_details': '{"total":0}' } })).wouldTokenize).toBe(false);
  });
});

describe('input/output, session and trace events', () => {
  it('LangFuse attributes first; the LiveKit names it still reads; GenAI messages with system instructions', () => {
    expect(inputOutputOf({ attributes: { 'langfuse.observation.input': 'a', 'lk.user_transcript': 'b' }, events: [] })).toEqual({ input: 'a', output: null });
    expect(inputOutputOf({ attributes: { 'lk.pii.user_transcript': 'moved' }, events: [] })).toEqual({ input: null, output: null });
    expect(inputOutputOf({ attributes: { 'lk.chat_ctx': 'ctx', 'lk.response.text': 'r' }, events: [] })).toEqual({ input: 'ctx', output: 'r' });
    const genai = inputOutputOf({ attributes: { 'gen_ai.input.messages': '[{"role":"user","parts":[]}]', 'gen_ai.system_instructions': '[{"type":"text","content":"be brief"}]' }, events: [] });
    expect(JSON.parse(String(genai.input))[0]).toEqual({ role: 'system', content: 'be brief' });
    expect(inputOutputOf({ attributes: { 'gen_ai.tool.call.arguments': '{"city":"Paris"}', 'gen_ai.tool.call.result': 'sunny' }, events: [] })).toEqual({ input: '{"city":"Paris"}', output: 'sunny' });
  });

  it('session id from session.id, else gen_ai.conversation.id', () => {
    expect(sessionIdOf({ 'gen_ai.conversation.id': 'conv' })).toBe('conv');
    expect(sessionIdOf({ 'session.id': 's', 'gen_ai.conversation.id': 'conv' })).toBe('s');
  });

  it('roots create the trace, children with session.id/user.id update it, others only once as shallow', () => {
    const ledger = new TraceLedger();
    const trace = 'd'.repeat(32);
    ledger.add(received({ traceId: trace, spanId: '1'.repeat(16), attributes: { 'gen_ai.conversation.id': 's1' } }));
    ledger.add(received({ traceId: trace, spanId: '2'.repeat(16), attributes: {} }));
    ledger.add(received({ traceId: trace, spanId: '3'.repeat(16), attributes: { 'session.id': 's1', 'user.id': 'u1' } }));
    ledger.add(
      received({
        traceId: trace,
        spanId: '4'.repeat(16),
        parentSpanId: undefined,
        name: 'agent_session',
        startTimeUnixNano: '1799999999000000000',
        attributes: { 'langfuse.trace.name': 'voice-session', 'langfuse.trace.tags': ['voice'], 'session.id': 's1', 'langfuse.trace.input': 'hi', 'langfuse.trace.metadata.job_id': 'job' },
      }),
    );
    const [stored] = ledger.list();
    expect(stored).toMatchObject({ id: trace, name: 'voice-session', sessionId: 's1', userId: 'u1', tags: ['voice'], input: 'hi', metadata: { job_id: 'job' } });
    expect(stored!.timestamp).toBe(new Date(1_799_999_999_000).toISOString());
    expect(stored!.events).toEqual({ root: 1, update: 1, shallow: 1 });
  });
});
