import type { Attributes, AttributeValue, HrTime } from '@opentelemetry/api';
import { ATTR } from '@voicetrace/conventions';

/**
 * LangFuse's OTel attribute names (langfuse-js `LangfuseOtelSpanAttributes`,
 * mirrored from the LangFuse server's `packages/shared/src/server/otel/attributes.ts`).
 * Only those voicetrace writes; `session.id`, `user.id`, `gen_ai.*` and
 * `deployment.environment.name` are read by LangFuse directly and not repeated.
 */
export const LANGFUSE_ATTR = {
  OBSERVATION_TYPE: 'langfuse.observation.type',
  OBSERVATION_INPUT: 'langfuse.observation.input',
  OBSERVATION_OUTPUT: 'langfuse.observation.output',
  OBSERVATION_LEVEL: 'langfuse.observation.level',
  OBSERVATION_STATUS_MESSAGE: 'langfuse.observation.status_message',
  OBSERVATION_USAGE_DETAILS: 'langfuse.observation.usage_details',
  OBSERVATION_COST_DETAILS: 'langfuse.observation.cost_details',
  OBSERVATION_COMPLETION_START_TIME: 'langfuse.observation.completion_start_time',
  OBSERVATION_MODEL_PARAMETERS: 'langfuse.observation.model.parameters',
  OBSERVATION_METADATA: 'langfuse.observation.metadata',
  TRACE_NAME: 'langfuse.trace.name',
  TRACE_INPUT: 'langfuse.trace.input',
  TRACE_OUTPUT: 'langfuse.trace.output',
  TRACE_TAGS: 'langfuse.trace.tags',
  TRACE_METADATA: 'langfuse.trace.metadata',
  ENVIRONMENT: 'langfuse.environment',
  RELEASE: 'langfuse.release',
} as const;

/** The view of a span the mapping reads (a live SDK span in `onEnding` satisfies it). */
export interface MappableSpan {
  name: string;
  attributes: Attributes;
  startTime: HrTime;
  parentSpanContext?: { spanId: string } | undefined;
  status?: { code: number; message?: string };
}

/** Options of the LangFuse mapping. */
export interface LangfuseMappingOptions {
  /** Write input/output (transcripts, replies). Follow the SDK's allowPii switch. */
  allowPii: boolean;
  /** `langfuse.release` (default: none). */
  release?: string;
  /** Tags on the trace (default: `['voice']`). */
  tags?: string[];
  /** Trace name (default: `voice-session`, `voice-turn` for turn traces). */
  traceName?: string;
}

type Level = 'DEBUG' | 'DEFAULT' | 'WARNING' | 'ERROR';

// SDK wrapper spans that carry gen_ai.request.model: LangFuse would otherwise map them to a
// second generation of the same request and count its usage twice
const WRAPPER_SPANS = new Set(['llm_node', 'tts_node', 'user_turn', 'llm_request_run', 'tts_request_run']);

/**
 * The LangFuse attributes for one voicetrace span: observation type, usage and
 * cost details, completion start time, input/output (PII-gated), level and
 * status message, trace name/tags/metadata on roots, and a valid environment.
 * A pure function of the span's own attributes, so it can be tested in isolation.
 */
export function langfuseAttributesFor(span: MappableSpan, options: LangfuseMappingOptions): Attributes {
  const a = span.attributes;
  const out: Attributes = {};
  const stage = a[ATTR.STAGE];
  const put = (key: string, value: AttributeValue | undefined): void => {
    if (value !== undefined && value !== null && value !== '') out[key] = value;
  };
  const pii = (key: string, value: AttributeValue | undefined): void => {
    if (options.allowPii) put(key, value);
  };
  const level = (value: Level, message?: string): void => {
    out[LANGFUSE_ATTR.OBSERVATION_LEVEL] = value;
    if (message) out[LANGFUSE_ATTR.OBSERVATION_STATUS_MESSAGE] = message;
  };

  if (WRAPPER_SPANS.has(span.name)) out[LANGFUSE_ATTR.OBSERVATION_TYPE] = 'span';

  switch (stage) {
    case 'llm': {
      out[LANGFUSE_ATTR.OBSERVATION_TYPE] = 'generation';
      const input = num(a['gen_ai.usage.input_tokens']);
      const cached = num(a[ATTR.USAGE_CACHE_READ]);
      const output = num(a['gen_ai.usage.output_tokens']);
      // OTel's input_tokens include cached ones; LangFuse prices each usage key separately
      putJson(out, LANGFUSE_ATTR.OBSERVATION_USAGE_DETAILS, {
        input: Math.max(0, input - cached),
        input_cached_tokens: cached,
        output,
        total: input + output,
      });
      break;
    }
    case 'tts': {
      if (a[ATTR.USAGE_COUNTED_ELSEWHERE] === true) {
        out[LANGFUSE_ATTR.OBSERVATION_TYPE] = 'span';
        break;
      }
      out[LANGFUSE_ATTR.OBSERVATION_TYPE] = 'generation';
      putJson(out, LANGFUSE_ATTR.OBSERVATION_USAGE_DETAILS, {
        input: num(a[ATTR.TTS_CHARACTERS]),
        output_audio_ms: Math.round(num(a[ATTR.TTS_AUDIO_DURATION]) * 1000),
      });
      put(LANGFUSE_ATTR.OBSERVATION_COMPLETION_START_TIME, afterStart(span.startTime, a[ATTR.TIME_TO_FIRST_CHUNK]));
      pii(LANGFUSE_ATTR.OBSERVATION_INPUT, a['lk.pii.input_text']);
      break;
    }
    case 'stt': {
      out[LANGFUSE_ATTR.OBSERVATION_TYPE] = 'generation';
      putJson(out, LANGFUSE_ATTR.OBSERVATION_USAGE_DETAILS, { input_audio_ms: Math.round(num(a[ATTR.STT_AUDIO_DURATION]) * 1000) });
      pii(LANGFUSE_ATTR.OBSERVATION_OUTPUT, a[ATTR.PII_USER_TRANSCRIPT]);
      break;
    }
    case 'realtime': {
      out[LANGFUSE_ATTR.OBSERVATION_TYPE] = 'generation';
      const audioIn = num(a[ATTR.USAGE_AUDIO_INPUT]);
      const textIn = num(a[ATTR.USAGE_TEXT_INPUT]);
      const cached = num(a[ATTR.USAGE_CACHE_READ]);
      putJson(out, LANGFUSE_ATTR.OBSERVATION_USAGE_DETAILS, {
        input: Math.max(0, textIn - cached),
        input_audio: audioIn,
        input_cached_tokens: cached,
        output: num(a[ATTR.USAGE_TEXT_OUTPUT]),
        output_audio: num(a[ATTR.USAGE_AUDIO_OUTPUT]),
        total: num(a['gen_ai.usage.input_tokens']) + num(a['gen_ai.usage.output_tokens']),
      });
      put(LANGFUSE_ATTR.OBSERVATION_COMPLETION_START_TIME, afterStart(span.startTime, a[ATTR.TIME_TO_FIRST_CHUNK]));
      pii(LANGFUSE_ATTR.OBSERVATION_INPUT, a[ATTR.PII_USER_TRANSCRIPT]);
      pii(LANGFUSE_ATTR.OBSERVATION_OUTPUT, a[ATTR.PII_RESPONSE_TEXT]);
      break;
    }
    case 'tool':
      // gen_ai.operation.name=execute_tool and gen_ai.tool.call.arguments/result already map to a TOOL with input/output
      if (a['lk.function_tool.is_error'] === true) level('ERROR', 'the tool returned an error');
      break;
    case 'agent_turn':
      pii(LANGFUSE_ATTR.OBSERVATION_INPUT, a['lk.pii.user_input']);
      pii(LANGFUSE_ATTR.OBSERVATION_OUTPUT, a['lk.pii.response.text']);
      if (a[ATTR.TURN_INTERRUPTED] === true) level('WARNING', 'interrupted by the user');
      putJson(out, LANGFUSE_ATTR.OBSERVATION_METADATA, pick(a, [ATTR.LATENCY_E2E, ATTR.LATENCY_TOTAL, ATTR.LATENCY_EOU_DELAY, ATTR.LATENCY_LLM_TTFT, ATTR.LATENCY_TTS_TTFB, ATTR.TURN_COST]));
      break;
    case 'user_turn':
      pii(LANGFUSE_ATTR.OBSERVATION_INPUT, a['lk.pii.user_transcript']);
      break;
    case 'handoff':
      out[LANGFUSE_ATTR.OBSERVATION_TYPE] = 'agent';
      put(LANGFUSE_ATTR.OBSERVATION_INPUT, a[ATTR.HANDOFF_FROM]);
      put(LANGFUSE_ATTR.OBSERVATION_OUTPUT, a[ATTR.HANDOFF_TO]);
      break;
    case 'vad':
    case 'eou':
    case 'interruption':
      out[LANGFUSE_ATTR.OBSERVATION_TYPE] = 'span';
      if (stage === 'interruption' || stage === 'eou') out[LANGFUSE_ATTR.OBSERVATION_LEVEL] = 'DEFAULT';
      break;
    default:
      break;
  }

  if ((stage === 'llm' || stage === 'tts' || stage === 'realtime') && a[ATTR.CANCELLED] === true) level('WARNING', 'cancelled');
  const cost = a[ATTR.COST];
  if (typeof cost === 'number' && cost >= 0 && out[LANGFUSE_ATTR.OBSERVATION_TYPE] === 'generation') {
    putJson(out, LANGFUSE_ATTR.OBSERVATION_COST_DETAILS, { total: cost });
  }

  // a trace root: the session (one trace per call) or a user turn (one trace per turn)
  if (!span.parentSpanContext) {
    const session = stage === 'session';
    out[LANGFUSE_ATTR.TRACE_NAME] = options.traceName ?? (session ? 'voice-session' : 'voice-turn');
    out[LANGFUSE_ATTR.TRACE_TAGS] = options.tags ?? ['voice'];
    put(`${LANGFUSE_ATTR.TRACE_METADATA}.agent_name`, a[ATTR.AGENT_NAME] ?? a['lk.agent_label']);
    put(`${LANGFUSE_ATTR.TRACE_METADATA}.job_id`, a['lk.job_id']);
    if (options.allowPii) put(`${LANGFUSE_ATTR.TRACE_METADATA}.room`, a['lk.pii.room_name']);
    if (session) {
      put(`${LANGFUSE_ATTR.TRACE_METADATA}.turns`, a[ATTR.SESSION_TURNS]);
      put(`${LANGFUSE_ATTR.TRACE_METADATA}.cost_usd`, a[ATTR.SESSION_COST]);
    }
  }
  put(LANGFUSE_ATTR.RELEASE, options.release);
  const environment = a[ATTR.ENVIRONMENT];
  if (typeof environment === 'string') {
    const valid = langfuseEnvironment(environment);
    if (valid !== environment) out[LANGFUSE_ATTR.ENVIRONMENT] = valid;
  }
  return out;
}

/** LangFuse accepts environments matching /^(?!langfuse)[a-z0-9-_]+$/, at most 40 characters. */
export function langfuseEnvironment(value: string): string {
  const cleaned = value.toLowerCase().replace(/[^a-z0-9-_]+/g, '-').replace(/^(langfuse[-_]?)+/, '').slice(0, 40);
  return cleaned || 'default';
}

function num(value: AttributeValue | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

function afterStart(start: HrTime, seconds: AttributeValue | undefined): string | undefined {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return undefined;
  return new Date((start[0] + start[1] / 1e9 + seconds) * 1000).toISOString();
}

function putJson(out: Attributes, key: string, value: Record<string, unknown>): void {
  const defined = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
  if (Object.keys(defined).length) out[key] = JSON.stringify(defined);
}

function pick(attributes: Attributes, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => attributes[k] !== undefined).map((k) => [k.replace('voicetrace.', ''), attributes[k]]));
}
