import { ATTR } from '@voicetrace/conventions';
import { describe, expect, it } from 'vitest';
import { LANGFUSE_ATTR, langfuseAttributesFor, langfuseEnvironment, type MappableSpan } from '../src/mapping.js';

const start: [number, number] = [1_800_000_000, 0];
const span = (name: string, attributes: MappableSpan['attributes'], root = false): MappableSpan => ({
  name,
  attributes: { [ATTR.SESSION_ID]: 's1', ...attributes },
  startTime: start,
  parentSpanContext: root ? undefined : { spanId: 'p' },
});
const json = (value: unknown) => JSON.parse(String(value));

describe('langfuseAttributesFor', () => {
  it('an LLM request is a generation whose usage separates cached input, with its cost', () => {
    const out = langfuseAttributesFor(
      span('llm_request', { [ATTR.STAGE]: 'llm', 'gen_ai.usage.input_tokens': 1000, [ATTR.USAGE_CACHE_READ]: 640, 'gen_ai.usage.output_tokens': 50, [ATTR.COST]: 0.0002 }),
      { allowPii: true },
    );
    expect(out[LANGFUSE_ATTR.OBSERVATION_TYPE]).toBe('generation');
    expect(json(out[LANGFUSE_ATTR.OBSERVATION_USAGE_DETAILS])).toEqual({ input: 360, input_cached_tokens: 640, output: 50, total: 1050 });
    expect(json(out[LANGFUSE_ATTR.OBSERVATION_COST_DETAILS])).toEqual({ total: 0.0002 });
    // the SDK already writes the completion start time on llm_request: not written twice
    expect(out[LANGFUSE_ATTR.OBSERVATION_COMPLETION_START_TIME]).toBeUndefined();
  });

  it('the SDK wrappers that carry a model are plain spans, so LangFuse counts each request once', () => {
    for (const name of ['llm_node', 'tts_node', 'user_turn']) {
      expect(langfuseAttributesFor(span(name, { 'gen_ai.request.model': 'm' }), { allowPii: true })[LANGFUSE_ATTR.OBSERVATION_TYPE]).toBe('span');
    }
  });

  it('TTS and STT are generations with their own units; TTS gets its completion start from TTFB', () => {
    const tts = langfuseAttributesFor(
      span('tts_request', { [ATTR.STAGE]: 'tts', [ATTR.TTS_CHARACTERS]: 57, [ATTR.TTS_AUDIO_DURATION]: 3.42, [ATTR.TIME_TO_FIRST_CHUNK]: 0.25, [ATTR.COST]: 0.002 }),
      { allowPii: true },
    );
    expect(json(tts[LANGFUSE_ATTR.OBSERVATION_USAGE_DETAILS])).toEqual({ input: 57, output_audio_ms: 3420 });
    expect(tts[LANGFUSE_ATTR.OBSERVATION_COMPLETION_START_TIME]).toBe(new Date((1_800_000_000 + 0.25) * 1000).toISOString());
    const stt = langfuseAttributesFor(span('stt_request', { [ATTR.STAGE]: 'stt', [ATTR.STT_AUDIO_DURATION]: 1.82, [ATTR.PII_USER_TRANSCRIPT]: 'hello' }), { allowPii: true });
    expect(json(stt[LANGFUSE_ATTR.OBSERVATION_USAGE_DETAILS])).toEqual({ input_audio_ms: 1820 });
    expect(stt[LANGFUSE_ATTR.OBSERVATION_OUTPUT]).toBe('hello');
  });

  it('a TTS span whose usage is counted on another span is not a second generation', () => {
    const out = langfuseAttributesFor(span('tts_request', { [ATTR.STAGE]: 'tts', [ATTR.USAGE_COUNTED_ELSEWHERE]: true, [ATTR.COST]: 1 }), { allowPii: true });
    expect(out[LANGFUSE_ATTR.OBSERVATION_TYPE]).toBe('span');
    expect(out[LANGFUSE_ATTR.OBSERVATION_COST_DETAILS]).toBeUndefined();
  });

  it('agent turns carry the conversation behind the PII switch, interruptions as warnings', () => {
    const attributes = { [ATTR.STAGE]: 'agent_turn', 'lk.pii.user_input': 'hi', 'lk.pii.response.text': 'hello!', [ATTR.TURN_INTERRUPTED]: true, [ATTR.LATENCY_E2E]: 1.4 };
    const open = langfuseAttributesFor(span('agent_turn', attributes), { allowPii: true });
    expect(open[LANGFUSE_ATTR.OBSERVATION_INPUT]).toBe('hi');
    expect(open[LANGFUSE_ATTR.OBSERVATION_OUTPUT]).toBe('hello!');
    expect(open[LANGFUSE_ATTR.OBSERVATION_LEVEL]).toBe('WARNING');
    expect(json(open[LANGFUSE_ATTR.OBSERVATION_METADATA])).toEqual({ 'latency.e2e': 1.4 });
    const closed = langfuseAttributesFor(span('agent_turn', attributes), { allowPii: false });
    expect(closed[LANGFUSE_ATTR.OBSERVATION_INPUT]).toBeUndefined();
    expect(closed[LANGFUSE_ATTR.OBSERVATION_OUTPUT]).toBeUndefined();
  });

  it('roots name the trace and carry tags and metadata; invalid environments are made valid', () => {
    const out = langfuseAttributesFor(
      span('agent_session', { [ATTR.STAGE]: 'session', 'lk.job_id': 'job', [ATTR.ENVIRONMENT]: 'Prod EU', [ATTR.SESSION_TURNS]: 6 }, true),
      { allowPii: true, release: '1.2.3' },
    );
    expect(out[LANGFUSE_ATTR.TRACE_NAME]).toBe('voice-session');
    expect(out[LANGFUSE_ATTR.TRACE_TAGS]).toEqual(['voice']);
    expect(out[`${LANGFUSE_ATTR.TRACE_METADATA}.job_id`]).toBe('job');
    expect(out[LANGFUSE_ATTR.RELEASE]).toBe('1.2.3');
    expect(out[LANGFUSE_ATTR.ENVIRONMENT]).toBe('prod-eu');
    expect(langfuseEnvironment('langfuse-prod')).toBe('prod');
    expect(langfuseEnvironment('demo')).toBe('demo');
  });
});
