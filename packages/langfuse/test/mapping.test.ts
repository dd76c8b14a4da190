import type { Attributes, HrTime } from '@opentelemetry/api';
import { ATTR } from '@voicetrace/conventions';
import { describe, expect, it } from 'vitest';
import { LANGFUSE_ATTR, langfuseAttributesFor, langfuseEnvironment, type LangfuseMappingOptions, type MappableSpan } from '../src/mapping.js';
import { toObservation, type ReceivedSpan } from '@voicetrace/langfuse-contract';

// an odd start (…123.456789 s) so millisecond truncation matters
const start: HrTime = [1_800_000_000, 123_456_789];
const span = (name: string, attributes: Attributes, extra: Partial<MappableSpan> = {}): MappableSpan => ({
  name,
  attributes: { [ATTR.SESSION_ID]: 's1', ...attributes },
  startTime: start,
  parentSpanContext: { spanId: 'p' },
  ...extra,
});
const json = (value: unknown) => JSON.parse(String(value));
const open: LangfuseMappingOptions = { allowPii: true };

/** The span with the mapping applied, as LangFuse would store it (the contract server's port of its rules). */
function asLangfuse(input: MappableSpan, scopeName = 'livekit-agents', options = open) {
  const nanos = (t: HrTime) => (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();
  const received: ReceivedSpan = {
    traceId: 'a'.repeat(32),
    spanId: 'b'.repeat(16),
    ...(input.parentSpanContext ? { parentSpanId: 'c'.repeat(16) } : {}),
    name: input.name,
    kind: 1,
    startTimeUnixNano: nanos(input.startTime),
    endTimeUnixNano: nanos(input.endTime ?? input.startTime),
    attributes: { ...input.attributes, ...langfuseAttributesFor(input, options) } as ReceivedSpan['attributes'],
    resourceAttributes: {},
    scopeName,
    status: { code: input.status?.code ?? 0 },
    events: [],
    links: [],
  };
  return toObservation(received);
}

describe('langfuseAttributesFor', () => {
  it('an LLM request is a visible generation: cached input apart, tokens total, cost, TTFT from its own start', () => {
    const attributes = {
      [ATTR.STAGE]: 'llm',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': 1000,
      [ATTR.USAGE_CACHE_READ]: 640,
      'gen_ai.usage.output_tokens': 50,
      [ATTR.COST]: 0.0002,
      [ATTR.TIME_TO_FIRST_CHUNK]: 0.4604,
      // the SDK's value, measured from the request its metrics timed (80 ms before this span started)
      [LANGFUSE_ATTR.OBSERVATION_COMPLETION_START_TIME]: new Date(1_800_000_000_123 + 380).toISOString(),
    };
    const out = langfuseAttributesFor(span('llm_request', attributes), open);
    expect(out[LANGFUSE_ATTR.OBSERVATION_TYPE]).toBe('generation');
    expect(out[LANGFUSE_ATTR.OBSERVATION_LEVEL]).toBe('DEFAULT');
    expect(json(out[LANGFUSE_ATTR.OBSERVATION_USAGE_DETAILS])).toEqual({ input: 360, input_cached_tokens: 640, output: 50, total: 1050 });
    expect(json(out[LANGFUSE_ATTR.OBSERVATION_COST_DETAILS])).toEqual({ total: 0.0002 });
    // LangFuse truncates the start to the ms (…123) and adds nothing: completion start = 123 + 460 ms
    expect(out[LANGFUSE_ATTR.OBSERVATION_COMPLETION_START_TIME]).toBe(new Date(1_800_000_000_123 + 460).toISOString());

    const stored = asLangfuse(span('llm_request', attributes));
    expect(stored).toMatchObject({ type: 'GENERATION', level: 'DEFAULT', model: 'gpt-4o-mini', totalCost: 0.0002, totalFilledByLangfuse: false });
    expect(Math.abs(stored.timeToFirstTokenMs! - 460.4)).toBeLessThanOrEqual(1);
  });

  it('TTFT stays within 1 ms of the span\'s own time to first chunk for any sub-millisecond start', () => {
    for (const nanos of [0, 999_999, 500_000, 123_456_789, 999_999_999]) {
      for (const ttfc of [0.0004, 0.2675, 0.4229999, 1.9996]) {
        const s = span('llm_request', { [ATTR.STAGE]: 'llm', [ATTR.TIME_TO_FIRST_CHUNK]: ttfc }, { startTime: [1_800_000_000, nanos] });
        expect(Math.abs(asLangfuse(s).timeToFirstTokenMs! - ttfc * 1000)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('plumbing that carries a model, or create_agent, is a plain span (no second generation, no agent)', () => {
    for (const name of ['llm_node', 'tts_node', 'user_turn', 'llm_request_run', 'tts_request_run']) {
      const out = langfuseAttributesFor(span(name, { 'gen_ai.request.model': 'm' }), open);
      expect(out[LANGFUSE_ATTR.OBSERVATION_TYPE]).toBe('span');
    }
    const activity = span('start_agent_activity', { 'gen_ai.operation.name': 'create_agent', 'gen_ai.request.model': 'gpt-4o-mini', 'lk.agent_label': 'front_desk' });
    expect(langfuseAttributesFor(activity, open)[LANGFUSE_ATTR.OBSERVATION_TYPE]).toBe('span');
    // LangFuse would otherwise make it an AGENT (create_agent, priority 3; LiveKit span name, priority 9)
    expect(asLangfuse({ ...activity, attributes: { ...activity.attributes } }).type).toBe('SPAN');
    // and it stays plumbing: LangFuse's own DEBUG level is kept
    expect(asLangfuse(activity).level).toBe('DEBUG');
  });

  it('a non-generation naming a model gets a zero total, so LangFuse never tokenizes and prices its text itself', () => {
    const turn = span('user_turn', { [ATTR.STAGE]: 'user_turn', 'gen_ai.request.model': 'gpt-4o-transcribe', 'lk.pii.user_transcript': 'hello there' });
    const out = langfuseAttributesFor(turn, open);
    expect(json(out[LANGFUSE_ATTR.OBSERVATION_USAGE_DETAILS])).toEqual({ total: 0 });
    expect(asLangfuse(turn)).toMatchObject({ type: 'SPAN', input: 'hello there', wouldTokenize: false, totalCost: null, usageDetails: { total: 0 } });
    // without it LangFuse would count the transcript's tokens at the model's price
    expect(toObservation({ ...minimal(), attributes: { 'gen_ai.request.model': 'gpt-4o-transcribe', 'langfuse.observation.input': 'hello there' } }).wouldTokenize).toBe(true);
    // spans without a model get nothing
    expect(langfuseAttributesFor(span('agent_turn', { [ATTR.STAGE]: 'agent_turn' }), open)[LANGFUSE_ATTR.OBSERVATION_USAGE_DETAILS]).toBeUndefined();
  });

  it('TTS is a visible generation in its own units with a tokens-only total and its first audio as completion start', () => {
    const attributes = { [ATTR.STAGE]: 'tts', [ATTR.TTS_CHARACTERS]: 57, [ATTR.TTS_AUDIO_DURATION]: 3.42, [ATTR.TIME_TO_FIRST_CHUNK]: 0.25, [ATTR.COST]: 0.002, 'gen_ai.request.model': 'sonic-2' };
    const tts = langfuseAttributesFor(span('tts_request', attributes), open);
    expect(tts[LANGFUSE_ATTR.OBSERVATION_TYPE]).toBe('generation');
    expect(json(tts[LANGFUSE_ATTR.OBSERVATION_USAGE_DETAILS])).toEqual({ tts_characters: 57, tts_audio_ms: 3420, total: 0 });
    expect(tts[LANGFUSE_ATTR.OBSERVATION_COMPLETION_START_TIME]).toBe(new Date(1_800_000_000_123 + 250).toISOString());
    // tts_request is on LangFuse's DEBUG list: the explicit level makes it visible
    const stored = asLangfuse(span('tts_request', attributes));
    expect(stored).toMatchObject({ type: 'GENERATION', level: 'DEFAULT', timeToFirstTokenMs: 250, usageDetails: { tts_characters: 57, tts_audio_ms: 3420, total: 0 } });
    // a provider that bills tokens: the tokens are the total
    const billed = langfuseAttributesFor(span('tts_request', { ...attributes, 'gen_ai.usage.input_tokens': 20, 'gen_ai.usage.output_tokens': 300 }), open);
    expect(json(billed[LANGFUSE_ATTR.OBSERVATION_USAGE_DETAILS])).toEqual({ tts_characters: 57, tts_audio_ms: 3420, input: 20, output: 300, total: 320 });
  });

  it('STT is a generation whose completion start is the final transcript (the span end) and whose total is tokens', () => {
    const end: HrTime = [1_800_000_002, 364_000_000];
    const stt = langfuseAttributesFor(
      span('stt_request', { [ATTR.STAGE]: 'stt', [ATTR.STT_AUDIO_DURATION]: 1.82, [ATTR.STT_LATENCY]: 0.241, [ATTR.PII_USER_TRANSCRIPT]: 'hello' }, { endTime: end }),
      open,
    );
    expect(json(stt[LANGFUSE_ATTR.OBSERVATION_USAGE_DETAILS])).toEqual({ stt_audio_ms: 1820, total: 0 });
    expect(stt[LANGFUSE_ATTR.OBSERVATION_COMPLETION_START_TIME]).toBe(new Date(1_800_000_002_364).toISOString());
    expect(stt[LANGFUSE_ATTR.OBSERVATION_OUTPUT]).toBe('hello');
    expect(stt[LANGFUSE_ATTR.OBSERVATION_LEVEL]).toBe('DEFAULT');
    // no final transcript measured: no completion start rather than a guess
    const unmeasured = langfuseAttributesFor(span('stt_request', { [ATTR.STAGE]: 'stt', [ATTR.STT_AUDIO_DURATION]: 1 }, { endTime: end }), open);
    expect(unmeasured[LANGFUSE_ATTR.OBSERVATION_COMPLETION_START_TIME]).toBeUndefined();
  });

  it('without an explicit total LangFuse would add milliseconds and characters to the token totals', () => {
    // the previous mapping's TTS usage: LangFuse fills total = 57 characters + 3420 ms
    const raw = toObservation({ ...minimal(), attributes: { 'langfuse.observation.usage_details': '{"input":57,"output_audio_ms":3420}' } });
    expect(raw).toMatchObject({ totalFilledByLangfuse: true, usageDetails: { input: 57, output_audio_ms: 3420, total: 3477 } });
    const mapped = asLangfuse(span('stt_request', { [ATTR.STAGE]: 'stt', [ATTR.STT_AUDIO_DURATION]: 1.82 }), 'voicetrace');
    expect(mapped).toMatchObject({ totalFilledByLangfuse: false, usageDetails: { stt_audio_ms: 1820, total: 0 } });
  });

  it('a TTS span whose usage is counted on another span is plumbing: no generation, no cost, LangFuse\'s DEBUG', () => {
    const s = span('tts_request', { [ATTR.STAGE]: 'tts', [ATTR.USAGE_COUNTED_ELSEWHERE]: true, [ATTR.COST]: 1 });
    const out = langfuseAttributesFor(s, open);
    expect(out[LANGFUSE_ATTR.OBSERVATION_TYPE]).toBe('span');
    expect(out[LANGFUSE_ATTR.OBSERVATION_COST_DETAILS]).toBeUndefined();
    expect(out[LANGFUSE_ATTR.OBSERVATION_LEVEL]).toBeUndefined();
    expect(asLangfuse(s).level).toBe('DEBUG');
  });

  it('agent turns are the agents: the conversation behind the PII switch, interruptions as warnings', () => {
    const attributes = { [ATTR.STAGE]: 'agent_turn', 'lk.pii.user_input': 'hi', 'lk.pii.response.text': 'hello!', [ATTR.TURN_INTERRUPTED]: true, [ATTR.LATENCY_E2E]: 1.4 };
    const opened = langfuseAttributesFor(span('agent_turn', attributes), open);
    expect(opened[LANGFUSE_ATTR.OBSERVATION_TYPE]).toBe('agent');
    expect(opened[LANGFUSE_ATTR.OBSERVATION_INPUT]).toBe('hi');
    expect(opened[LANGFUSE_ATTR.OBSERVATION_OUTPUT]).toBe('hello!');
    expect(opened[LANGFUSE_ATTR.OBSERVATION_LEVEL]).toBe('WARNING');
    expect(json(opened[LANGFUSE_ATTR.OBSERVATION_METADATA])).toEqual({ 'latency.e2e': 1.4 });
    const closed = langfuseAttributesFor(span('agent_turn', attributes), { allowPii: false });
    expect(closed[LANGFUSE_ATTR.OBSERVATION_INPUT]).toBeUndefined();
    expect(closed[LANGFUSE_ATTR.OBSERVATION_OUTPUT]).toBeUndefined();
    expect(langfuseAttributesFor(span('agent_turn', { [ATTR.STAGE]: 'agent_turn' }), open)[LANGFUSE_ATTR.OBSERVATION_LEVEL]).toBe('DEFAULT');
  });

  it('every stage a user reads gets an explicit level; an error status stays an error', () => {
    for (const [name, stage] of [['eou_detection', 'eou'], ['vad_inference', 'vad'], ['interruption_detection', 'interruption'], ['agent_handoff', 'handoff'], ['user_turn', 'user_turn'], ['function_tool', 'tool']]) {
      const stored = asLangfuse(span(name!, { [ATTR.STAGE]: stage! }));
      expect(stored.level, name).toBe('DEFAULT');
    }
    // an explicit level wins over the status in LangFuse, so an error status must become an explicit ERROR
    const failed = span('function_tool', { [ATTR.STAGE]: 'tool', 'gen_ai.operation.name': 'execute_tool' }, { status: { code: 2, message: 'boom' } });
    expect(langfuseAttributesFor(failed, open)).toMatchObject({ [LANGFUSE_ATTR.OBSERVATION_LEVEL]: 'ERROR', [LANGFUSE_ATTR.OBSERVATION_STATUS_MESSAGE]: 'boom' });
    expect(asLangfuse(failed)).toMatchObject({ level: 'ERROR', type: 'TOOL', statusMessage: 'boom' });
    const toolError = langfuseAttributesFor(span('function_tool', { [ATTR.STAGE]: 'tool', 'lk.function_tool.is_error': true }), open);
    expect(toolError[LANGFUSE_ATTR.OBSERVATION_LEVEL]).toBe('ERROR');
    const cancelled = langfuseAttributesFor(span('llm_request', { [ATTR.STAGE]: 'llm', [ATTR.CANCELLED]: true }), open);
    expect(cancelled).toMatchObject({ [LANGFUSE_ATTR.OBSERVATION_LEVEL]: 'WARNING', [LANGFUSE_ATTR.OBSERVATION_STATUS_MESSAGE]: 'cancelled' });
  });

  it('a handoff is a span naming the agents, not an agent', () => {
    const out = langfuseAttributesFor(span('agent_handoff', { [ATTR.STAGE]: 'handoff', [ATTR.HANDOFF_FROM]: 'front_desk', [ATTR.HANDOFF_TO]: 'billing' }), open);
    expect(out).toMatchObject({ [LANGFUSE_ATTR.OBSERVATION_TYPE]: 'span', [LANGFUSE_ATTR.OBSERVATION_INPUT]: 'front_desk', [LANGFUSE_ATTR.OBSERVATION_OUTPUT]: 'billing' });
  });

  it('roots name the trace and carry tags and metadata; invalid environments are made valid', () => {
    const out = langfuseAttributesFor(
      span('agent_session', { [ATTR.STAGE]: 'session', 'lk.job_id': 'job', [ATTR.ENVIRONMENT]: 'Prod EU', [ATTR.SESSION_TURNS]: 6 }, { parentSpanContext: undefined }),
      { allowPii: true, release: '1.2.3' },
    );
    expect(out[LANGFUSE_ATTR.TRACE_NAME]).toBe('voice-session');
    expect(out[LANGFUSE_ATTR.TRACE_TAGS]).toEqual(['voice']);
    expect(out[`${LANGFUSE_ATTR.TRACE_METADATA}.job_id`]).toBe('job');
    expect(out[LANGFUSE_ATTR.RELEASE]).toBe('1.2.3');
    expect(out[LANGFUSE_ATTR.ENVIRONMENT]).toBe('prod-eu');
    expect(langfuseEnvironment('langfuse-prod')).toBe('prod');
    expect(langfuseEnvironment('demo')).toBe('demo');
    // non-roots never carry trace attributes
    expect(Object.keys(langfuseAttributesFor(span('agent_turn', { [ATTR.STAGE]: 'agent_turn' }), open)).some((k) => k.startsWith('langfuse.trace'))).toBe(false);
  });

  it('in trace-per-turn mode the user turn (a child of the session while live) names its trace', () => {
    const turn = span('user_turn', { [ATTR.STAGE]: 'user_turn', 'lk.pii.user_transcript': 'hi there' });
    expect(langfuseAttributesFor(turn, open)[LANGFUSE_ATTR.TRACE_NAME]).toBeUndefined();
    const out = langfuseAttributesFor(turn, { allowPii: true, traceMode: 'turn' });
    expect(out).toMatchObject({ [LANGFUSE_ATTR.TRACE_NAME]: 'voice-turn', [LANGFUSE_ATTR.TRACE_TAGS]: ['voice'], [LANGFUSE_ATTR.TRACE_INPUT]: 'hi there' });
  });
});

function minimal(): ReceivedSpan {
  return {
    traceId: 'a'.repeat(32),
    spanId: 'b'.repeat(16),
    parentSpanId: 'c'.repeat(16),
    name: 'x',
    kind: 1,
    startTimeUnixNano: '1800000000000000000',
    endTimeUnixNano: '1800000001000000000',
    attributes: {},
    resourceAttributes: {},
    scopeName: 'voicetrace',
    status: { code: 0 },
    events: [],
    links: [],
  };
}
