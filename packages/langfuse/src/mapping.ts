import type { Attributes, AttributeValue, HrTime } from '@opentelemetry/api';
import { ATTR, STAGES } from '@voicetrace/conventions';

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
  /** Set by the SDK before `onEnding`; STT's completion start is its end (the final transcript). */
  endTime?: HrTime;
  parentSpanContext?: { spanId: string } | undefined;
  status?: { code: number; message?: string };
}

/** Options of the LangFuse mapping. */
export interface LangfuseMappingOptions {
  /** Write input/output (transcripts, replies). Follow the SDK's allowPii switch. */
  allowPii: boolean;
  /** `langfuse.release` (default: none). */
  release?: string | undefined;
  /** Tags on the trace (default: `['voice']`). */
  tags?: string[] | undefined;
  /** Trace name (default: `voice-session`, `voice-turn` for turn traces). */
  traceName?: string | undefined;
  /**
   * voicetrace's trace layout (default `session`). In `turn` mode each `user_turn` is exported as the
   * root of its own trace although the live span the mapping sees still has the session as parent, so
   * the mapping must know to name that trace.
   */
  traceMode?: 'session' | 'turn' | undefined;
}

type Level = 'DEBUG' | 'DEFAULT' | 'WARNING' | 'ERROR';

/** Where LangFuse reads a model name from (extractModelName, OtelIngestionProcessor.ts:2602-2627). */
const MODEL_KEYS = ['langfuse.observation.model.name', 'gen_ai.response.model', 'ai.model.id', 'gen_ai.request.model', 'llm.response.model', 'llm.model_name', 'model'];

/**
 * SDK spans that must be plain spans in LangFuse but would otherwise read as something else
 * (packages/shared/src/server/otel/ObservationTypeMapper.ts at langfuse@6275144):
 * the wrappers and user_turn carry `gen_ai.request.model`, so the model-based fallback (priority 10) would make each a
 * second GENERATION of the same request; `start_agent_activity` carries `gen_ai.operation.name=create_agent`
 * (priority 3) and is also on the LiveKit span-name list (priority 9), so it would be an AGENT with a model.
 * An explicit `langfuse.observation.type` is the priority-1 mapper and wins over all of them.
 */
const PLAIN_SPANS = new Set(['llm_node', 'tts_node', 'user_turn', 'llm_request_run', 'tts_request_run', 'start_agent_activity']);

/**
 * The stages a user reads in LangFuse. Each gets an explicit level, because LangFuse gives DEBUG (hidden by
 * default in the trace view) to a fixed list of `livekit-agents` span names, `tts_request` among them
 * (LIVEKIT_DEBUG_SPAN_NAMES, OtelIngestionProcessor.ts:223-239) and an explicit level wins over that list
 * and over the span status (OtelIngestionProcessor.ts:1181-1190): every stage of STAGES but `artifact` (an upload).
 * Plumbing is left to LangFuse (DEBUG).
 */
const READ_STAGES: ReadonlySet<string> = new Set(STAGES.filter((stage) => stage !== 'artifact'));

/**
 * The LangFuse attributes for one voicetrace span: observation type, level, usage and cost details with an
 * explicit `total` (tokens only, see the package README), completion start time (LangFuse's time to first
 * token), input/output (PII-gated), status message, trace name/tags/metadata on trace roots, and a valid
 * environment. A pure function of the span, so it can be tested in isolation.
 */
export function langfuseAttributesFor(span: MappableSpan, options: LangfuseMappingOptions, conversations?: ChatMessagesCache): Attributes {
  const a = span.attributes;
  const out: Attributes = {};
  const stage = typeof a[ATTR.STAGE] === 'string' ? (a[ATTR.STAGE] as string) : undefined;
  const put = (key: string, value: AttributeValue | undefined): void => {
    if (value !== undefined && value !== null && value !== '') out[key] = value;
  };
  const pii = (key: string, value: AttributeValue | undefined): void => {
    if (options.allowPii) put(key, value);
  };
  // the first reason wins: an error beats a warning beats the default
  let level: { value: Level; message?: string | undefined } | undefined;
  const raise = (value: Level, message?: string): void => {
    level ??= { value, message };
  };
  if (span.status?.code === 2) raise('ERROR', span.status.message || 'error');
  const completionStart = (ms: number | undefined): void => put(LANGFUSE_ATTR.OBSERVATION_COMPLETION_START_TIME, ms === undefined ? undefined : new Date(ms).toISOString());
  // the time to first chunk, in seconds, when it is a usable value
  const ttfc = seconds(a[ATTR.TIME_TO_FIRST_CHUNK]);

  const plain = PLAIN_SPANS.has(span.name);
  // plumbing with nothing for LangFuse (e.g. user_speaking): no work
  if (stage === undefined && !plain && span.parentSpanContext && options.release === undefined && validEnvironment(a[ATTR.ENVIRONMENT])) return out;
  if (plain) out[LANGFUSE_ATTR.OBSERVATION_TYPE] = 'span';

  switch (stage) {
    case 'llm': {
      out[LANGFUSE_ATTR.OBSERVATION_TYPE] = 'generation';
      const input = count(a[ATTR.USAGE_INPUT_TOKENS]);
      const cached = Math.min(count(a[ATTR.USAGE_CACHE_READ]), input);
      const output = count(a[ATTR.USAGE_OUTPUT_TOKENS]);
      // OTel's input_tokens include cached ones; LangFuse prices each usage key separately
      putJson(out, LANGFUSE_ATTR.OBSERVATION_USAGE_DETAILS, { input: input - cached, input_cached_tokens: cached, output, total: input + output });
      // overrides the SDK's own value, which is measured from the request its metrics timed, not from this
      // span's start: LangFuse's TTFT is completion start minus span start
      completionStart(ttfc === undefined ? undefined : startMs(span.startTime) + Math.round(ttfc * 1000));
      // the conversation as chat messages LangFuse renders (system first, tool calls with object arguments)
      if (options.allowPii) {
        const input = conversations
          ? conversations.chatMessages(String(a[ATTR.SESSION_ID] ?? ''), a['gen_ai.input.messages'], a['gen_ai.system_instructions'])
          : chatMessages(a['gen_ai.input.messages'], a['gen_ai.system_instructions']);
        put(LANGFUSE_ATTR.OBSERVATION_INPUT, input);
      }
      pii(LANGFUSE_ATTR.OBSERVATION_OUTPUT, chatMessages(a['gen_ai.output.messages'], undefined));
      break;
    }
    case 'tts': {
      if (a[ATTR.USAGE_COUNTED_ELSEWHERE] === true) {
        // the stream adapter's duplicate: plumbing, left at LangFuse's level (DEBUG for tts_request)
        out[LANGFUSE_ATTR.OBSERVATION_TYPE] = 'span';
        break;
      }
      out[LANGFUSE_ATTR.OBSERVATION_TYPE] = 'generation';
      putJson(out, LANGFUSE_ATTR.OBSERVATION_USAGE_DETAILS, {
        tts_characters: count(a[ATTR.TTS_CHARACTERS]),
        tts_audio_ms: Math.round((seconds(a[ATTR.TTS_AUDIO_DURATION]) ?? 0) * 1000),
        ...tokenUsage(a),
      });
      // first audio
      completionStart(ttfc === undefined ? undefined : startMs(span.startTime) + Math.round(ttfc * 1000));
      pii(LANGFUSE_ATTR.OBSERVATION_INPUT, a['lk.pii.input_text'] ?? a[ATTR.PII_RESPONSE_TEXT]);
      break;
    }
    case 'stt': {
      out[LANGFUSE_ATTR.OBSERVATION_TYPE] = 'generation';
      putJson(out, LANGFUSE_ATTR.OBSERVATION_USAGE_DETAILS, { stt_audio_ms: Math.round((seconds(a[ATTR.STT_AUDIO_DURATION]) ?? 0) * 1000), ...tokenUsage(a) });
      // the span runs from the start of speech to the final transcript; its end is the final transcript
      // whenever the latency was measured (no final transcript, no latency)
      if (seconds(a[ATTR.STT_LATENCY]) !== undefined && span.endTime) completionStart(startMs(span.endTime));
      pii(LANGFUSE_ATTR.OBSERVATION_OUTPUT, a[ATTR.PII_USER_TRANSCRIPT]);
      break;
    }
    case 'realtime': {
      out[LANGFUSE_ATTR.OBSERVATION_TYPE] = 'generation';
      const audioIn = count(a[ATTR.USAGE_AUDIO_INPUT]);
      const textIn = count(a[ATTR.USAGE_TEXT_INPUT]);
      const cached = Math.min(count(a[ATTR.USAGE_CACHE_READ]), textIn);
      putJson(out, LANGFUSE_ATTR.OBSERVATION_USAGE_DETAILS, {
        input: textIn - cached,
        input_audio: audioIn,
        input_cached_tokens: cached,
        output: count(a[ATTR.USAGE_TEXT_OUTPUT]),
        output_audio: count(a[ATTR.USAGE_AUDIO_OUTPUT]),
        total: count(a[ATTR.USAGE_INPUT_TOKENS]) + count(a[ATTR.USAGE_OUTPUT_TOKENS]),
      });
      completionStart(ttfc === undefined ? undefined : startMs(span.startTime) + Math.round(ttfc * 1000));
      pii(LANGFUSE_ATTR.OBSERVATION_INPUT, a[ATTR.PII_USER_TRANSCRIPT]);
      pii(LANGFUSE_ATTR.OBSERVATION_OUTPUT, a[ATTR.PII_RESPONSE_TEXT]);
      break;
    }
    case 'tool':
      // gen_ai.tool.call.arguments/result already give a TOOL its input/output
      out[LANGFUSE_ATTR.OBSERVATION_TYPE] = 'tool';
      if (a['lk.function_tool.is_error'] === true) raise('ERROR', 'the tool returned an error');
      break;
    case 'agent_turn':
      // the agent's own work: the only AGENT observations voicetrace produces
      out[LANGFUSE_ATTR.OBSERVATION_TYPE] = 'agent';
      // a tool step's turn (the SDK makes two agent_turns for a reply that calls tools) still reads whole:
      // the user's words in, the tool calls it made out
      pii(LANGFUSE_ATTR.OBSERVATION_INPUT, a['lk.pii.user_input'] ?? a[ATTR.PII_USER_TRANSCRIPT]);
      pii(LANGFUSE_ATTR.OBSERVATION_OUTPUT, a['lk.pii.response.text'] ?? a[ATTR.PII_RESPONSE_TEXT] ?? a[ATTR.PII_TOOL_CALLS]);
      if (a[ATTR.TURN_INTERRUPTED] === true) raise('WARNING', 'interrupted by the user');
      putJson(out, LANGFUSE_ATTR.OBSERVATION_METADATA, pick(a, [ATTR.LATENCY_E2E, ATTR.LATENCY_TOTAL, ATTR.LATENCY_EOU_DELAY, ATTR.LATENCY_LLM_TTFT, ATTR.LATENCY_TTS_TTFB, ATTR.TURN_COST]));
      break;
    case 'user_turn':
      pii(LANGFUSE_ATTR.OBSERVATION_INPUT, a['lk.pii.user_transcript']);
      break;
    case 'handoff':
      // a transfer between agents, not agent work: a span whose input/output name the agents
      out[LANGFUSE_ATTR.OBSERVATION_TYPE] = 'span';
      put(LANGFUSE_ATTR.OBSERVATION_INPUT, a[ATTR.HANDOFF_FROM]);
      put(LANGFUSE_ATTR.OBSERVATION_OUTPUT, a[ATTR.HANDOFF_TO]);
      break;
    case 'vad':
    case 'eou':
    case 'interruption':
      // they carry a model (interruption) or nothing LangFuse maps: plain spans
      out[LANGFUSE_ATTR.OBSERVATION_TYPE] = 'span';
      break;
    default:
      break;
  }

  if ((stage === 'llm' || stage === 'tts' || stage === 'realtime') && a[ATTR.CANCELLED] === true) raise('WARNING', 'cancelled');
  if (stage !== undefined && READ_STAGES.has(stage) && !(stage === 'tts' && a[ATTR.USAGE_COUNTED_ELSEWHERE] === true)) {
    const { value, message } = level ?? { value: 'DEFAULT' as Level };
    out[LANGFUSE_ATTR.OBSERVATION_LEVEL] = value;
    if (message) out[LANGFUSE_ATTR.OBSERVATION_STATUS_MESSAGE] = message;
  }
  // plumbing keeps LangFuse's own level: DEBUG for the listed names, ERROR from an error status
  const cost = a[ATTR.COST];
  if (typeof cost === 'number' && Number.isFinite(cost) && cost >= 0 && out[LANGFUSE_ATTR.OBSERVATION_TYPE] === 'generation') {
    putJson(out, LANGFUSE_ATTR.OBSERVATION_COST_DETAILS, { total: cost });
  }
  // A non-generation that names a model (the wrappers, user_turn with the STT model, interruption) keeps that
  // model in LangFuse's v4 events; with no usage and no cost LangFuse would count the tokens of its input/output
  // itself and price them (worker getUsageUnits), a second charge for the request. An explicit zero total stops it.
  const type = out[LANGFUSE_ATTR.OBSERVATION_TYPE];
  if (type !== undefined && type !== 'generation' && MODEL_KEYS.some((key) => a[key]) && !out[LANGFUSE_ATTR.OBSERVATION_USAGE_DETAILS]) {
    putJson(out, LANGFUSE_ATTR.OBSERVATION_USAGE_DETAILS, { total: 0 });
  }

  // the trace's name and metadata: on the session span (the call's root, even under a job's entrypoint
  // span) and, in turn mode, on each user turn (the root of its turn's trace)
  const turnRoot = options.traceMode === 'turn' && stage === 'user_turn';
  if (stage === 'session' || turnRoot || !span.parentSpanContext) Object.assign(out, langfuseTraceAttributes(span, options));
  put(LANGFUSE_ATTR.RELEASE, options.release);
  const environment = a[ATTR.ENVIRONMENT];
  if (!validEnvironment(environment)) out[LANGFUSE_ATTR.ENVIRONMENT] = langfuseEnvironment(environment as string);
  return out;
}

/**
 * The trace-level LangFuse attributes of a span that roots a trace: the session span (`voice-session`) or a
 * user turn of a per-turn trace (`voice-turn`, its input the user's words).
 */
export function langfuseTraceAttributes(span: Pick<MappableSpan, 'attributes'>, options: LangfuseMappingOptions): Attributes {
  const a = span.attributes;
  const out: Attributes = {};
  const put = (key: string, value: AttributeValue | undefined): void => {
    if (value !== undefined && value !== null && value !== '') out[key] = value;
  };
  const session = a[ATTR.STAGE] === 'session';
  out[LANGFUSE_ATTR.TRACE_NAME] = options.traceName ?? (session ? 'voice-session' : 'voice-turn');
  out[LANGFUSE_ATTR.TRACE_TAGS] = options.tags ?? ['voice'];
  put(`${LANGFUSE_ATTR.TRACE_METADATA}.agent_name`, a[ATTR.AGENT_NAME] ?? a['lk.agent_label']);
  put(`${LANGFUSE_ATTR.TRACE_METADATA}.job_id`, a['lk.job_id']);
  if (options.allowPii) put(`${LANGFUSE_ATTR.TRACE_METADATA}.room`, a['lk.pii.room_name']);
  if (session) {
    put(`${LANGFUSE_ATTR.TRACE_METADATA}.turns`, a[ATTR.SESSION_TURNS]);
    put(`${LANGFUSE_ATTR.TRACE_METADATA}.cost_usd`, a[ATTR.SESSION_COST]);
  } else {
    put(`${LANGFUSE_ATTR.TRACE_METADATA}.turn_index`, a[ATTR.TURN_INDEX]);
    if (options.allowPii) put(LANGFUSE_ATTR.TRACE_INPUT, a['lk.pii.user_transcript']);
  }
  return out;
}

/** One OTel GenAI message part (`gen_ai.input.messages` / `gen_ai.output.messages`). */
interface GenAiPart {
  type?: string;
  content?: unknown;
  id?: string;
  name?: string;
  arguments?: unknown;
  response?: unknown;
}

/**
 * OTel GenAI messages (role + typed parts) as OpenAI-style chat messages, which LangFuse renders as a
 * conversation: text parts become `content`, tool calls `tool_calls` with their arguments as objects,
 * tool results `{ role: 'tool', tool_call_id, content }`. The system instructions come first. Returns
 * the JSON, or undefined when the attribute is absent or not messages.
 */
export function chatMessages(messages: AttributeValue | undefined, system: AttributeValue | undefined): string | undefined {
  const parsed = parseJsonValue(messages);
  if (!Array.isArray(parsed)) return undefined;
  const out: Array<Record<string, unknown>> = [];
  const instructions = parseJsonValue(system);
  const systemText = Array.isArray(instructions) ? instructions.map((p: GenAiPart) => (typeof p?.content === 'string' ? p.content : '')).filter(Boolean).join('\n') : undefined;
  if (systemText) out.push({ role: 'system', content: systemText });
  for (const message of parsed as Array<{ role?: string; parts?: GenAiPart[] }>) {
    const parts = Array.isArray(message?.parts) ? message.parts : [];
    const text = parts.filter((p) => p?.type === 'text' && typeof p.content === 'string').map((p) => p.content as string).join('');
    const calls = parts.filter((p) => p?.type === 'tool_call');
    const results = parts.filter((p) => p?.type === 'tool_call_response');
    if (results.length) {
      for (const r of results) out.push({ role: 'tool', tool_call_id: r.id, content: parseJsonValue(r.response) });
      continue;
    }
    const entry: Record<string, unknown> = { role: message?.role ?? 'assistant', content: text };
    if (calls.length) entry.tool_calls = calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: parseJsonValue(c.arguments) } }));
    out.push(entry);
  }
  return JSON.stringify(out);
}

/**
 * {@link chatMessages} for the requests of many calls, each converted in time proportional to what
 * it adds: a call's next request repeats its previous messages and appends some, so when the new
 * messages' JSON extends the previous one's (same system instructions), only the appended messages
 * are converted and appended to the previous result. Anything else (a trimmed or edited context)
 * is converted whole. The output is exactly `chatMessages(messages, system)`. Bounded: the newest
 * `maxCalls` calls are kept.
 */
export class ChatMessagesCache {
  private readonly calls = new Map<string, { system: AttributeValue | undefined; input: string; output: string }>();

  constructor(private readonly maxCalls = 64) {}

  chatMessages(call: string, messages: AttributeValue | undefined, system: AttributeValue | undefined): string | undefined {
    if (typeof messages !== 'string') return chatMessages(messages, system);
    const previous = this.calls.get(call);
    let output: string | undefined;
    if (previous && previous.system === system && extends_(messages, previous.input)) {
      // the appended messages alone: `[` + what follows the previous array's last element and its comma
      const added = chatMessages(`[${messages.slice(previous.input.length)}`, undefined);
      if (added !== undefined) output = added === '[]' ? previous.output : previous.output === '[]' ? added : `${previous.output.slice(0, -1)},${added.slice(1)}`;
    }
    output ??= chatMessages(messages, system);
    this.calls.delete(call);
    if (output !== undefined && call) {
      this.calls.set(call, { system, input: messages, output });
      if (this.calls.size > this.maxCalls) this.calls.delete(this.calls.keys().next().value as string);
    }
    return output;
  }
}

/**
 * Whether the JSON array `next` is `previous` with more elements appended: it starts with
 * `previous` up to (not including) its closing bracket, then a comma. A previous array with no
 * element (`[]`) or not ending with `]` never matches.
 */
function extends_(next: string, previous: string): boolean {
  const open = previous.length - 1;
  return (
    open > 1 &&
    previous.charCodeAt(open) === 93 /* ] */ &&
    next.length > previous.length &&
    next.charCodeAt(open) === 44 /* , */ &&
    next.startsWith(previous.slice(0, open))
  );
}

/** A value that may be JSON text, parsed; anything else as is. */
function parseJsonValue(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/** The last environment found valid (a setup has one): checked once, not per span. */
let validEnvironmentSeen: string | undefined;

/** Whether an environment attribute needs no `langfuse.environment` next to it (absent, or valid for LangFuse as it is). */
function validEnvironment(value: AttributeValue | undefined): boolean {
  if (typeof value !== 'string') return true;
  if (value === validEnvironmentSeen) return true;
  if (langfuseEnvironment(value) !== value) return false;
  validEnvironmentSeen = value;
  return true;
}

/** LangFuse accepts environments matching /^(?!langfuse)[a-z0-9-_]+$/, at most 40 characters. */
export function langfuseEnvironment(value: string): string {
  const cleaned = value.toLowerCase().replace(/[^a-z0-9-_]+/g, '-').replace(/^(langfuse[-_]?)+/, '').slice(0, 40);
  return cleaned || 'default';
}

/** A non-negative integer count (LangFuse keeps only non-negative integers as usage). */
function count(value: AttributeValue | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.round(value) : 0;
}

/** A duration in seconds that can be trusted (finite, not negative). */
function seconds(value: AttributeValue | undefined): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * Epoch milliseconds of an OTel time, truncated exactly as LangFuse truncates the span's
 * `startTimeUnixNano` (nanoseconds / 10^6 as an integer, OtelIngestionProcessor.ts convertNanoTimestampToISO),
 * so a completion start written as `startMs + round(ttfc in ms)` gives LangFuse's TTFT within 0.5 ms of ttfc.
 */
function startMs(time: HrTime): number {
  return time[0] * 1000 + Math.floor(time[1] / 1e6);
}

/** Token usage of an STT/TTS request when the provider bills tokens: input, output and their total. */
function tokenUsage(a: Attributes): Record<string, number> {
  const input = count(a[ATTR.USAGE_INPUT_TOKENS]);
  const output = count(a[ATTR.USAGE_OUTPUT_TOKENS]);
  return input || output ? { input, output, total: input + output } : { total: 0 };
}

function putJson(out: Attributes, key: string, value: Record<string, unknown>): void {
  // JSON.stringify leaves undefined members out; an object with none defined is not written
  for (const k in value) {
    if (value[k] !== undefined) {
      out[key] = JSON.stringify(value);
      return;
    }
  }
}

function pick(attributes: Attributes, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (attributes[k] !== undefined) out[k.replace('voicetrace.', '')] = attributes[k];
  return out;
}
