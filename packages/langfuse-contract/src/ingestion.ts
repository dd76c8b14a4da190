/**
 * What LangFuse stores for the spans it accepts: a small, typed port of the rules in LangFuse's own
 * ingestion code, so that tests can assert on observations and traces as LangFuse would show them.
 *
 * Ported from langfuse/langfuse at commit 62751446149b702b419a9292ddfc2280cdf74b8c (2026-08-22):
 * - `packages/shared/src/server/otel/ObservationTypeMapper.ts` (observation type),
 * - `packages/shared/src/server/otel/OtelIngestionProcessor.ts` (level, input/output, model, usage, cost,
 *   completion start time, session/user, trace create/update events),
 * - `packages/shared/src/server/ingestion/types.ts` (the usage/cost schemas the events pass through),
 * - `worker/src/services/IngestionService/index.ts` (`getUsageUnits`: the `total` LangFuse fills in;
 *   `calculateUsageCosts`: the total cost),
 * - `packages/shared/src/server/repositories/observations.ts` and `events.ts`
 *   (`time_to_first_token` = `date_diff('millisecond', start_time, completion_start_time)`).
 * Line numbers in the comments refer to those files at that commit.
 *
 * Left out on purpose, because voicetrace never sends them: the framework-specific branches (Vercel AI
 * SDK scope `ai`, Genkit, Flue, Pydantic AI, Google ADK usage blobs, the Python SDK <= 3.3 override),
 * media upload and prompt linking. Where LangFuse's two write paths differ, the direct "events" path is
 * modelled (the one `x-langfuse-ingestion-version: 4`, which voicetrace's exporter sends, selects:
 * worker/src/queues/otelIngestionQueue.ts:76-88 and 606-624; processToEvent at 768), and what the
 * legacy path would drop is noted.
 */
import type { ReceivedSpan, ReceivedValue } from './types.js';

/** The commit of langfuse/langfuse these rules were read at. */
export const LANGFUSE_SOURCE_COMMIT = '62751446149b702b419a9292ddfc2280cdf74b8c';

/** LangFuse's observation types (`ObservationTypeDomain`). */
export type ObservationType = 'SPAN' | 'EVENT' | 'GENERATION' | 'AGENT' | 'TOOL' | 'CHAIN' | 'RETRIEVER' | 'EVALUATOR' | 'EMBEDDING' | 'GUARDRAIL';

/** LangFuse's observation levels. The trace view hides DEBUG unless the user asks for it. */
export type ObservationLevel = 'DEBUG' | 'DEFAULT' | 'WARNING' | 'ERROR';

/** One observation as LangFuse would store it (an `events` row of its v4 data model). */
export interface IngestedObservation {
  /** The span id (hex). */
  id: string;
  traceId: string;
  parentObservationId: string | null;
  /** `gen_ai.tool.name` for tools, else the span name (`extractName`, OtelIngestionProcessor.ts:2299). */
  name: string;
  /** The span name as sent. */
  spanName: string;
  scopeName: string;
  type: ObservationType;
  level: ObservationLevel;
  statusMessage: string | null;
  /** ISO, millisecond precision, truncated from the span's nanoseconds. */
  startTime: string;
  endTime: string;
  completionStartTime: string | null;
  /** `completionStartTime - startTime` in ms, LangFuse's "time to first token"; null without a completion start. */
  timeToFirstTokenMs: number | null;
  /**
   * The model name, for every type in the v4 events path; the legacy path keeps model, usage, cost and
   * completion start only on generation-like types (a `span-create` body is `CreateSpanBody`, which has
   * none of them: ingestion/types.ts:465-467 vs `agent-create` with `CreateGenerationBody` at 653-656).
   */
  model: string | null;
  /** What the span provided, after the ingestion schema (non-negative integers only). */
  providedUsageDetails: Record<string, number>;
  /** What LangFuse stores: the provided details plus, when they lack `total`, the sum of all of them. */
  usageDetails: Record<string, number>;
  /** True when LangFuse filled `total` itself (the sum of every key, whatever its unit). */
  totalFilledByLangfuse: boolean;
  costDetails: Record<string, number>;
  totalCost: number | null;
  /**
   * True when LangFuse would count tokens itself (a model name, no usage, no cost, some input or output):
   * `getUsageUnits` tokenizes and prices the text with the matched model (IngestionService/index.ts:1415).
   */
  wouldTokenize: boolean;
  input: unknown;
  output: unknown;
  sessionId: string | null;
  userId: string | null;
  environment: string;
  release: string | null;
  metadata: Record<string, unknown>;
}

/** One trace as LangFuse would store it after merging every trace event it received. */
export interface IngestedTrace {
  id: string;
  name: string | null;
  timestamp: string;
  sessionId: string | null;
  userId: string | null;
  tags: string[];
  release: string | null;
  environment: string;
  input: unknown;
  output: unknown;
  metadata: Record<string, unknown>;
  /** Trace events received, by kind: from a root span, a trace update (trace attributes on a child), a shallow create. */
  events: { root: number; update: number; shallow: number };
}

type Attributes = Record<string, ReceivedValue>;

/** Priority 1-10 of `ObservationTypeMapperRegistry` (ObservationTypeMapper.ts:165-473), in order. */
const DIRECT_TYPES: Record<string, ObservationType> = {
  span: 'SPAN',
  generation: 'GENERATION',
  event: 'EVENT',
  embedding: 'EMBEDDING',
  agent: 'AGENT',
  tool: 'TOOL',
  chain: 'CHAIN',
  retriever: 'RETRIEVER',
  guardrail: 'GUARDRAIL',
  evaluator: 'EVALUATOR',
};
const OPENINFERENCE_TYPES: Record<string, ObservationType> = {
  CHAIN: 'CHAIN',
  RETRIEVER: 'RETRIEVER',
  LLM: 'GENERATION',
  EMBEDDING: 'EMBEDDING',
  AGENT: 'AGENT',
  TOOL: 'TOOL',
  GUARDRAIL: 'GUARDRAIL',
  EVALUATOR: 'EVALUATOR',
};
const GENAI_OPERATION_TYPES: Record<string, ObservationType> = {
  chat: 'GENERATION',
  completion: 'GENERATION',
  text_completion: 'GENERATION',
  generate_content: 'GENERATION',
  generate: 'GENERATION',
  embeddings: 'EMBEDDING',
  invoke_agent: 'AGENT',
  create_agent: 'AGENT',
  execute_tool: 'TOOL',
};

/** `hasMeaningfulValue` (ObservationTypeMapper.ts:119): not null, undefined, '' or an empty array/object. */
function meaningful(value: unknown): boolean {
  if (value === null || value === undefined || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/**
 * The observation type (ObservationTypeMapper.ts:486-508): the first mapper that can map and maps wins,
 * else SPAN. Priorities 0 (Python SDK <= 3.3), 4 (Genkit), 5-6 (Vercel AI SDK) and 8 (Flue) need
 * attributes or scopes voicetrace never sends and are left out.
 */
export function observationTypeOf(attributes: Attributes, scopeName: string, spanName: string): ObservationType {
  const mapped = (table: Record<string, ObservationType>, key: string): ObservationType | undefined =>
    meaningful(attributes[key]) ? table[String(attributes[key])] : undefined;
  // 1: langfuse.observation.type; 2: OpenInference span kind; 3: OTel GenAI operation
  const simple = mapped(DIRECT_TYPES, 'langfuse.observation.type') ?? mapped(OPENINFERENCE_TYPES, 'openinference.span.kind') ?? mapped(GENAI_OPERATION_TYPES, 'gen_ai.operation.name');
  if (simple) return simple;
  // 7: GenAI tool call attributes (ObservationTypeMapper.ts:399-410)
  if (meaningful(attributes['gen_ai.tool.name']) || meaningful(attributes['gen_ai.tool.call.id'])) return 'TOOL';
  // 9: LiveKit span names (ObservationTypeMapper.ts:437-455)
  if (scopeName === 'livekit-agents') {
    if (spanName === 'agent_turn' || spanName === 'start_agent_activity') return 'AGENT';
    if (spanName === 'function_tool') return 'TOOL';
  }
  // 10: any model name makes a generation (ObservationTypeMapper.ts:458-472)
  if (['langfuse.observation.model.name', 'gen_ai.request.model', 'gen_ai.response.model', 'llm.model_name', 'model'].some((key) => meaningful(attributes[key]))) {
    return 'GENERATION';
  }
  return 'SPAN';
}

/** LiveKit span names LangFuse gives DEBUG (LIVEKIT_DEBUG_SPAN_NAMES, OtelIngestionProcessor.ts:223-239). */
export const LIVEKIT_DEBUG_SPAN_NAMES: ReadonlySet<string> = new Set([
  'user_speaking',
  'eou_detection',
  'llm_request_run',
  'tts_node',
  'tts_request',
  'tts_request_run',
  'tts_stream_adapter',
  'agent_speaking',
  'drain_agent_activity',
  'on_exit',
  'on_enter',
  'llm_fallback_adapter',
  'tts_fallback_adapter',
  'start_agent_activity',
]);

/** Foreign level names LangFuse accepts (OBSERVATION_LEVEL_ALIASES, OtelIngestionProcessor.ts:42-57). */
const LEVEL_ALIASES: Record<string, ObservationLevel> = {
  DEBUG: 'DEBUG',
  TRACE: 'DEBUG',
  VERBOSE: 'DEBUG',
  DEFAULT: 'DEFAULT',
  INFO: 'DEFAULT',
  LOG: 'DEFAULT',
  NOTICE: 'DEFAULT',
  OK: 'DEFAULT',
  SUCCESS: 'DEFAULT',
  WARNING: 'WARNING',
  WARN: 'WARNING',
  ERROR: 'ERROR',
  FATAL: 'ERROR',
  CRITICAL: 'ERROR',
};

/**
 * The level (OtelIngestionProcessor.ts:1181-1190, same rule at 544-555): an explicit, recognised
 * `langfuse.observation.level` wins over everything; else ERROR for status code 2; else DEBUG for the
 * listed `livekit-agents` span names; else DEFAULT.
 */
export function observationLevelOf(attributes: Attributes, statusCode: number, scopeName: string, spanName: string): ObservationLevel {
  const explicit = attributes['langfuse.observation.level'];
  const parsed = typeof explicit === 'string' ? LEVEL_ALIASES[explicit.trim().toUpperCase()] : undefined;
  if (parsed) return parsed;
  if (statusCode === 2) return 'ERROR';
  if (scopeName === 'livekit-agents' && LIVEKIT_DEBUG_SPAN_NAMES.has(spanName)) return 'DEBUG';
  return 'DEFAULT';
}

/** Attribute pairs LangFuse reads input/output from, in its order (extractInputAndOutput, OtelIngestionProcessor.ts:1641-2156). */
const INPUT_OUTPUT_PAIRS: ReadonlyArray<readonly [input: readonly string[], output: readonly string[]]> = [
  // Google Vertex AI ADK (llm_request/llm_response, then the tool pair)
  [['gcp.vertex.agent.llm_request', 'gcp.vertex.agent.tool_call_args'], ['gcp.vertex.agent.llm_response', 'gcp.vertex.agent.tool_response']],
  // Logfire
  [['prompt'], ['all_messages_events']],
  // LiveKit (OtelIngestionProcessor.ts:2008-2016): names the SDK no longer writes since it moved content to lk.pii.*
  [['lk.input_text', 'lk.user_transcript', 'lk.chat_ctx'], ['lk.function_tool.output', 'lk.response.text']],
  // MLFlow, TraceLoop, SmolAgents, Pydantic/Pipecat
  [['mlflow.spanInputs'], ['mlflow.spanOutputs']],
  [['traceloop.entity.input'], ['traceloop.entity.output']],
  [['input.value'], ['output.value']],
  [['input'], ['output']],
  [['tool_arguments'], ['tool_response']],
];

/**
 * Input and output (extractInputAndOutput): LangFuse's own attributes first (`langfuse.trace.*` for the
 * trace, `langfuse.observation.*` otherwise), then the GenAI message events, then the attribute pairs
 * above, then OTel GenAI `gen_ai.input.messages`/`gen_ai.output.messages` (with `gen_ai.system_instructions`
 * prepended) and `gen_ai.tool.call.arguments`/`result`.
 */
export function inputOutputOf(span: Pick<ReceivedSpan, 'attributes' | 'events'>, domain: 'trace' | 'observation' = 'observation'): { input: unknown; output: unknown } {
  const a = span.attributes;
  const input = domain === 'trace' && a['langfuse.trace.input'] ? a['langfuse.trace.input'] : a['langfuse.observation.input'];
  const output = domain === 'trace' && a['langfuse.trace.output'] ? a['langfuse.trace.output'] : a['langfuse.observation.output'];
  if (input != null || output != null) return { input: input ?? null, output: output ?? null };

  for (const event of span.events) {
    if (event.name === 'gen_ai.client.inference.operation.details') {
      const found = genAiMessages(event.attributes);
      if (found) return found;
    }
  }
  const inputEvents = span.events.filter((e) => ['gen_ai.system.message', 'gen_ai.user.message', 'gen_ai.assistant.message', 'gen_ai.tool.message'].includes(e.name));
  const outputEvents = span.events.filter((e) => e.name === 'gen_ai.choice');
  if (inputEvents.length || outputEvents.length) {
    const processedOutput = outputEvents.length ? outputEvents.map((e) => e.attributes) : null;
    return {
      input: inputEvents.length ? inputEvents.map((e) => ({ role: e.name.replace('gen_ai.', '').replace('.message', ''), ...e.attributes })) : null,
      output: processedOutput && processedOutput.length === 1 ? processedOutput[0] : processedOutput,
    };
  }

  for (const [inputKeys, outputKeys] of INPUT_OUTPUT_PAIRS) {
    const i = firstTruthy(a, inputKeys);
    const o = firstTruthy(a, outputKeys);
    if (i || o) return { input: i ?? null, output: o ?? null };
  }
  return genAiMessages(a) ?? { input: null, output: null };
}

function firstTruthy(a: Attributes, keys: readonly string[]): ReceivedValue | undefined {
  for (const key of keys) if (a[key] && a[key] !== '{}') return a[key];
  return undefined;
}

/** extractOpenTelemetryGenAiInputAndOutput (OtelIngestionProcessor.ts:2158-2186). */
function genAiMessages(a: Attributes): { input: unknown; output: unknown } | undefined {
  let input: unknown = a['gen_ai.input.messages'];
  const output: unknown = a['gen_ai.output.messages'];
  if (input && a['gen_ai.system_instructions']) input = prependSystemInstructions(input, a['gen_ai.system_instructions']);
  if (input || output) return { input: input ?? null, output: output ?? null };
  const args = a['gen_ai.tool.call.arguments'];
  const result = a['gen_ai.tool.call.result'];
  if (args || result) return { input: args ?? null, output: result ?? null };
  return undefined;
}

/** prependSystemInstructions (OtelIngestionProcessor.ts:2192-2232). */
function prependSystemInstructions(input: unknown, instructions: unknown): unknown {
  try {
    const messages: unknown = typeof input === 'string' ? JSON.parse(input) : input;
    if (!Array.isArray(messages) || messages.some((m: { role?: unknown }) => m?.role === 'system')) return input;
    let content: string;
    try {
      const parsed: unknown = typeof instructions === 'string' ? JSON.parse(instructions) : instructions;
      content = Array.isArray(parsed)
        ? parsed.map((p: unknown) => (typeof p === 'object' && p !== null && 'content' in p ? String((p as { content: unknown }).content) : String(p))).join('\n')
        : String(parsed);
    } catch {
      content = String(instructions);
    }
    const merged = [{ role: 'system', content }, ...messages];
    return typeof input === 'string' ? JSON.stringify(merged) : merged;
  } catch {
    return input;
  }
}

/**
 * A JSON attribute that must be an object (parseJsonObjectAttribute, OtelIngestionProcessor.ts:1342-1402):
 * absent or unparsable -> null (the caller tries its fallbacks); not a string or not an object -> {}.
 */
function jsonObjectAttribute(a: Attributes, key: string): Record<string, unknown> | null {
  const raw = a[key];
  if (!raw) return null;
  if (typeof raw !== 'string') return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return null;
  }
}

/** Keys of the generic GenAI usage normalisation that are folded into input/output/total (OtelIngestionProcessor.ts:2936-2965). */
const FOLDED_USAGE_KEYS = new Set([
  'prompt_tokens', 'input_tokens', 'prompt', 'completion_tokens', 'output_tokens', 'completion', 'total_tokens', 'total',
  'cache_read.input_tokens', 'cache_read_input_tokens', 'cache_read_tokens', 'details.cache_read_tokens', 'details.cache_read_input_tokens',
  'prompt_details.cache_read', 'input_cached_tokens', 'cache_creation.input_tokens', 'cache_creation_input_tokens', 'cache_write_tokens',
  'details.cache_write_tokens', 'details.cache_creation_input_tokens', 'prompt_details.cache_write', 'input_cache_creation',
  'reasoning.output_tokens', 'completion_details.reasoning', 'completion_details.audio',
]);

/** extractGenericGenAiUsageDetails (OtelIngestionProcessor.ts:2870-3009): `gen_ai.usage.*` and `llm.token_count.*`. */
function genericUsage(a: Attributes): Record<string, number> {
  const raw: Record<string, number> = {};
  for (const key of Object.keys(a)) {
    if (!((key.startsWith('gen_ai.usage.') && key !== 'gen_ai.usage.cost') || key.startsWith('llm.token_count.'))) continue;
    const value = Number(a[key]);
    if (!Number.isNaN(value)) raw[key.replace('gen_ai.usage.', '').replace('llm.token_count.', '')] = value;
  }
  if (Object.keys(raw).length === 0) return {};
  const first = (...keys: string[]): number | undefined => keys.map((k) => raw[k]).find((v) => v !== undefined);
  const input = first('prompt_tokens', 'input_tokens', 'prompt');
  const output = first('completion_tokens', 'output_tokens', 'completion');
  const total = first('total_tokens', 'total');
  const cacheRead = first('cache_read.input_tokens', 'cache_read_input_tokens', 'cache_read_tokens', 'details.cache_read_tokens', 'details.cache_read_input_tokens', 'prompt_details.cache_read', 'input_cached_tokens');
  const cacheCreation = first('cache_creation.input_tokens', 'cache_creation_input_tokens', 'cache_write_tokens', 'details.cache_write_tokens', 'details.cache_creation_input_tokens', 'prompt_details.cache_write', 'input_cache_creation');
  const reasoning = first('reasoning.output_tokens', 'completion_details.reasoning');
  const audioOut = first('completion_details.audio');
  const usage: Record<string, number> = {};
  for (const [key, value] of Object.entries(raw)) if (!FOLDED_USAGE_KEYS.has(key)) usage[key.startsWith('details.') ? key.slice('details.'.length) : key] = value;
  if (input !== undefined) usage.input = Math.max(input - (cacheRead ?? 0) - (cacheCreation ?? 0), 0);
  if (output !== undefined) usage.output = Math.max(output - (reasoning ?? 0) - (audioOut ?? 0), 0);
  if (total !== undefined) usage.total = total;
  if (cacheRead !== undefined) usage.input_cached_tokens = cacheRead;
  if (cacheCreation !== undefined) usage.input_cache_creation = cacheCreation;
  if (reasoning !== undefined) usage.output_reasoning_tokens = reasoning;
  if (audioOut !== undefined) usage.output_audio_tokens = audioOut;
  return usage;
}

/**
 * Usage details as LangFuse stores them.
 * 1. extractUsageDetails (OtelIngestionProcessor.ts:2629-2868): `langfuse.observation.usage_details` (JSON
 *    object) if present, else the generic GenAI usage attributes;
 * 2. the ingestion schema (`RawUsageDetails`, ingestion/types.ts:89-105): only non-negative integers (or
 *    integer strings) survive; an empty result is no usage;
 * 3. the worker (`getUsageUnits`, IngestionService/index.ts:1527-1533): when there is usage but no `total`,
 *    `total` becomes the sum of every provided value, whatever its unit. Traces, sessions and users then
 *    sum `usage_details['total']` over their observations (traces.ts:1084-1137, event-query-builder.ts:1482-1493).
 */
export function usageDetailsOf(a: Attributes): { provided: Record<string, number>; stored: Record<string, number>; totalFilled: boolean } {
  const extracted = jsonObjectAttribute(a, 'langfuse.observation.usage_details') ?? genericUsage(a);
  const provided: Record<string, number> = {};
  for (const [key, value] of Object.entries(extracted)) {
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0) provided[key] = value;
    else if (typeof value === 'string' && !Number.isNaN(Number.parseInt(value, 10)) && Number.parseInt(value, 10) >= 0) provided[key] = Number.parseInt(value, 10);
  }
  const stored = { ...provided };
  const totalFilled = Object.keys(stored).length > 0 && !('total' in stored);
  if (totalFilled) stored.total = Object.values(provided).reduce((sum, value) => sum + value, 0);
  return { provided, stored, totalFilled };
}

/**
 * Cost details as LangFuse stores them: `langfuse.observation.cost_details` (JSON object), else
 * `gen_ai.usage.cost`, else `llm.cost.total` (extractCostDetails, OtelIngestionProcessor.ts:3011-3033);
 * numbers >= 0 only (`CostDetails`, ingestion/types.ts:70-87); the total is the provided `total`, else
 * input + output when those are the only keys (calculateUsageCosts, IngestionService/index.ts:1617-1655).
 */
export function costDetailsOf(a: Attributes): { details: Record<string, number>; total: number | null } {
  const fromAttribute = jsonObjectAttribute(a, 'langfuse.observation.cost_details');
  const raw: Record<string, unknown> =
    fromAttribute ?? (a['gen_ai.usage.cost'] != null && a['gen_ai.usage.cost'] !== '' ? { total: a['gen_ai.usage.cost'] } : a['llm.cost.total'] != null && a['llm.cost.total'] !== '' ? { total: a['llm.cost.total'] } : {});
  const details: Record<string, number> = {};
  for (const [key, value] of Object.entries(raw)) if (typeof value === 'number' && !Number.isNaN(value) && value >= 0) details[key] = value;
  const keys = Object.keys(details);
  const total = details.total ?? (keys.length > 0 && keys.every((k) => k === 'input' || k === 'output') ? (details.input ?? 0) + (details.output ?? 0) : undefined);
  if (total !== undefined && details.total === undefined) details.total = total;
  return { details, total: total ?? null };
}

/**
 * The completion start time (extractCompletionStartTime, OtelIngestionProcessor.ts:3035-3071): a valid date
 * string in `langfuse.observation.completion_start_time` (or one JSON-encoded), else the Vercel AI SDK's
 * `ai.response.msToFirstChunk` added to the start. Stored with millisecond precision.
 */
export function completionStartTimeOf(a: Attributes, startTimeIso: string): string | null {
  const value = a['langfuse.observation.completion_start_time'];
  const asDate = (v: unknown): string | undefined => (typeof v === 'string' && !Number.isNaN(new Date(v).getTime()) ? new Date(v).toISOString() : undefined);
  const direct = asDate(value);
  if (direct) return direct;
  if (typeof value === 'string') {
    try {
      const parsed = asDate(JSON.parse(value));
      if (parsed) return parsed;
    } catch {
      // fall through
    }
  }
  const ms = a['ai.response.msToFirstChunk'] ?? a['ai.stream.msToFirstChunk'];
  if (ms) return new Date(new Date(startTimeIso).getTime() + Math.ceil(Number(ms))).toISOString();
  return null;
}

/** Nanoseconds since the epoch (a decimal string) to ISO, truncated to the millisecond (convertNanoTimestampToISO). */
export function nanosToIso(nanos: string): string {
  return new Date(Number(BigInt(nanos) / 1_000_000n)).toISOString();
}

const firstString = (a: Attributes, keys: readonly string[]): string | null => {
  for (const key of keys) {
    const value = a[key];
    if (value) return typeof value === 'string' ? value : JSON.stringify(value);
  }
  return null;
};

/** extractModelName (OtelIngestionProcessor.ts:2602-2627). */
export const modelOf = (a: Attributes): string | null =>
  firstString(a, ['langfuse.observation.model.name', 'gen_ai.response.model', 'ai.model.id', 'gen_ai.request.model', 'llm.response.model', 'llm.model_name', 'model']);

/** extractSessionId (OtelIngestionProcessor.ts:2414-2433): `gen_ai.conversation.id` counts as a session too. */
export const sessionIdOf = (a: Attributes): string | null =>
  firstString(a, ['langfuse.session.id', 'session.id', 'gen_ai.conversation.id', 'langfuse.observation.metadata.langfuse_session_id', 'langfuse.trace.metadata.langfuse_session_id', 'ai.telemetry.metadata.sessionId']);

/** extractUserId (OtelIngestionProcessor.ts:2394-2412). */
export const userIdOf = (a: Attributes): string | null =>
  firstString(a, ['langfuse.user.id', 'user.id', 'langfuse.observation.metadata.langfuse_user_id', 'langfuse.trace.metadata.langfuse_user_id', 'ai.telemetry.metadata.userId']);

/**
 * Whether a span updates its trace (hasTraceUpdates, OtelIngestionProcessor.ts:1256-1289): any trace
 * attribute, including `session.id` and `user.id` (but not `gen_ai.conversation.id`), or any
 * `langfuse.trace.metadata*` key. Each such span sends one trace event.
 */
export function hasTraceUpdates(a: Attributes): boolean {
  const exact = [
    'langfuse.trace.name', 'langfuse.trace.input', 'langfuse.trace.output', 'langfuse.trace.metadata', 'user.id', 'session.id',
    'langfuse.trace.public', 'langfuse.trace.tags', 'langfuse.user.id', 'langfuse.session.id',
    'langfuse.observation.metadata.langfuse_user_id', 'langfuse.observation.metadata.langfuse_session_id', 'langfuse.observation.metadata.langfuse_tags',
    'langfuse.trace.metadata.langfuse_session_id', 'langfuse.trace.metadata.langfuse_user_id', 'langfuse.trace.metadata.langfuse_tags',
    'ai.telemetry.metadata.sessionId', 'ai.telemetry.metadata.userId', 'ai.telemetry.metadata.tags', 'tag.tags',
  ];
  return exact.some((key) => Boolean(a[key])) || Object.keys(a).some((key) => key.startsWith('langfuse.trace.metadata'));
}

/** extractTags (OtelIngestionProcessor.ts:3073-3110). */
function tagsOf(a: Attributes): string[] {
  const value = a['langfuse.trace.tags'] || a['langfuse.tags'] || a['langfuse.observation.metadata.langfuse_tags'] || a['langfuse.trace.metadata.langfuse_tags'] || a['ai.telemetry.metadata.tags'] || a['tag.tags'];
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string' && value.trim().startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (Array.isArray(parsed)) return parsed.map(String);
    } catch {
      // fall through
    }
  }
  if (typeof value === 'string') return value.includes(',') ? value.split(',').map((t) => t.trim()) : [value];
  return [];
}

/** `langfuse.<domain>.metadata` (a JSON object) merged with its `langfuse.<domain>.metadata.*` keys (extractMetadata). */
function metadataOf(a: Attributes, domain: 'trace' | 'observation'): Record<string, unknown> {
  const prefix = `langfuse.${domain}.metadata`;
  const top = jsonObjectAttribute(a, prefix) ?? {};
  const keys = Object.fromEntries(Object.entries(a).filter(([key]) => key.startsWith(`${prefix}.`)).map(([key, value]) => [key.slice(prefix.length + 1), value]));
  return { ...top, ...keys };
}

/** extractEnvironment (OtelIngestionProcessor.ts:2234-2267) with the public normalisation (ingestion/types.ts:228-246). */
function environmentOf(a: Attributes, resource: Attributes): string {
  for (const key of ['langfuse.environment', 'deployment.environment.name', 'deployment.environment']) {
    const value = a[key] || resource[key];
    if (value) {
      const stripped = String(value).toLowerCase().replace(/^(?:langfuse[-_]?)+/, '').slice(0, 40);
      return stripped && /^[a-z0-9-_]+$/.test(stripped) ? stripped : 'default';
    }
  }
  return 'default';
}

/** One span as the observation LangFuse would store (createObservationEvent / processToEvent). */
export function toObservation(span: ReceivedSpan): IngestedObservation {
  const a = span.attributes;
  const startTime = nanosToIso(span.startTimeUnixNano);
  const endTime = nanosToIso(span.endTimeUnixNano);
  const completionStartTime = completionStartTimeOf(a, startTime);
  const usage = usageDetailsOf(a);
  const cost = costDetailsOf(a);
  const model = modelOf(a);
  const { input, output } = inputOutputOf(span);
  const toolName = a['gen_ai.tool.name'];
  const statusMessage = a['langfuse.observation.status_message'] ?? span.status.message ?? null;
  return {
    id: span.spanId,
    traceId: span.traceId,
    parentObservationId: span.parentSpanId ?? null,
    name: toolName ? String(toolName) : span.name,
    spanName: span.name,
    scopeName: span.scopeName,
    type: observationTypeOf(a, span.scopeName, span.name),
    level: observationLevelOf(a, span.status.code, span.scopeName, span.name),
    statusMessage: statusMessage === null ? null : String(statusMessage),
    startTime,
    endTime,
    completionStartTime,
    timeToFirstTokenMs: completionStartTime === null ? null : new Date(completionStartTime).getTime() - new Date(startTime).getTime(),
    model,
    providedUsageDetails: usage.provided,
    usageDetails: usage.stored,
    totalFilledByLangfuse: usage.totalFilled,
    costDetails: cost.details,
    totalCost: cost.total,
    wouldTokenize: model !== null && Object.keys(usage.provided).length === 0 && cost.total === null && Object.keys(cost.details).length === 0 && Boolean(input || output),
    input,
    output,
    sessionId: sessionIdOf(a),
    userId: userIdOf(a),
    environment: environmentOf(a, span.resourceAttributes),
    release: firstString(a, ['langfuse.release']) ?? firstString(span.resourceAttributes, ['langfuse.release']),
    metadata: metadataOf(a, 'observation'),
  };
}

/**
 * The trace side of ingestion (processSpan/createTraceEvent, OtelIngestionProcessor.ts:892-1090, and the
 * merge in IngestionService/index.ts:763-860, utils.ts:60-96): a root span (no parent, or
 * `langfuse.internal.as_root=true`) sends the full trace; a child with trace attributes sends an update;
 * the first span of a trace not seen before sends a shallow create. Merged: later defined values win,
 * tags are unioned, metadata merged, input/output are the last non-empty ones.
 */
export class TraceLedger {
  private readonly traces = new Map<string, IngestedTrace>();
  /** Trace ids seen (LangFuse keeps them 10 minutes in Redis). */
  private readonly seen = new Set<string>();

  add(span: ReceivedSpan): void {
    const a = span.attributes;
    const root = !span.parentSpanId || String(a['langfuse.internal.as_root']) === 'true';
    const updates = hasTraceUpdates(a);
    if (!root && !updates && this.seen.has(span.traceId)) return;
    this.seen.add(span.traceId);
    const startTime = nanosToIso(span.startTimeUnixNano);
    const trace = this.traces.get(span.traceId) ?? {
      id: span.traceId,
      name: null,
      timestamp: startTime,
      sessionId: null,
      userId: null,
      tags: [],
      release: null,
      environment: 'default',
      input: null,
      output: null,
      metadata: {},
      events: { root: 0, update: 0, shallow: 0 },
    };
    this.traces.set(span.traceId, trace);
    if (startTime < trace.timestamp) trace.timestamp = startTime;
    trace.environment = environmentOf(a, span.resourceAttributes);
    if (!root && !updates) {
      trace.events.shallow += 1;
      return;
    }
    trace.events[root ? 'root' : 'update'] += 1;
    const set = <K extends keyof IngestedTrace>(key: K, value: IngestedTrace[K] | null | undefined): void => {
      if (value !== null && value !== undefined) trace[key] = value;
    };
    set('name', root ? (firstString(a, ['langfuse.trace.name']) ?? span.name) : firstString(a, ['langfuse.trace.name']));
    set('sessionId', sessionIdOf(a));
    set('userId', userIdOf(a));
    set('release', firstString(a, ['langfuse.release']));
    trace.tags = [...new Set([...trace.tags, ...tagsOf(a)])].sort();
    trace.metadata = { ...trace.metadata, ...metadataOf(a, 'trace') };
    const { input, output } = root ? inputOutputOf(span, 'trace') : { input: a['langfuse.trace.input'], output: a['langfuse.trace.output'] };
    if (input) trace.input = input;
    if (output) trace.output = output;
  }

  list(): IngestedTrace[] {
    return [...this.traces.values()];
  }

  clear(): void {
    this.traces.clear();
    this.seen.clear();
  }
}
