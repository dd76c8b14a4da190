import { ATTR } from '@voicetrace/conventions';
import { attr, set, spanNameIs, str, where } from '../ottl.js';
import { LANGFUSE_CONTENT, LLM_METRICS, PLAIN_SPANS, PYTHON_SPAN_STAGE, TTS_METRICS } from '../sdk-shape.js';
import type { StatementGroup } from './group.js';

/**
 * LangFuse's attribute names (as @voicetrace/langfuse's mapping writes them for the Node path:
 * packages/langfuse/src/mapping.ts), so a Python call reads the same in LangFuse.
 */
const LF = {
  type: 'langfuse.observation.type',
  level: 'langfuse.observation.level',
  statusMessage: 'langfuse.observation.status_message',
  usage: 'langfuse.observation.usage_details',
  cost: 'langfuse.observation.cost_details',
  completionStart: 'langfuse.observation.completion_start_time',
  input: 'langfuse.observation.input',
  output: 'langfuse.observation.output',
  traceName: 'langfuse.trace.name',
  traceTags: 'langfuse.trace.tags',
  traceMetadata: 'langfuse.trace.metadata',
} as const;

/** The observation type per stage (the Node mapping's switch); every other span is a plain span. */
const TYPE_BY_STAGE: Readonly<Record<string, string>> = { llm: 'generation', tts: 'generation', realtime: 'generation', tool: 'tool', agent_turn: 'agent' };

const namesOf = (predicate: (stage: string) => boolean): string[] =>
  Object.entries(PYTHON_SPAN_STAGE)
    .filter(([, stage]) => predicate(stage))
    .map(([name]) => name);

/** An integer count for LangFuse's usage (LangFuse keeps non-negative integers only). */
const count = (key: string) => `Int(${attr(key)})`;

/**
 * An ISO time `seconds` after the span's start, truncated to the ms like LangFuse's own start
 * (so LangFuse's time to first token equals the span's value within 1 ms), with the zone's offset.
 */
function startPlus(secondsKey: string): string {
  const ms = `Int(${attr(secondsKey)} * 1000.0 + 0.5)`;
  return `FormatTime(TruncateTime(span.start_time, Duration("1ms")) + Duration(Format("%dms", [${ms}])), "%Y-%m-%dT%H:%M:%S.%L%j")`;
}

/**
 * What LangFuse needs to show a Python call as the Node path shows it: an explicit observation type
 * on every span (no user_turn or wrapper typed a generation from its model), levels, usage and cost
 * details with an explicit total, the completion start (its time to first token), input/output
 * (`lk.pii.*`: gone with PII redaction on) and the trace's name on the session span.
 */
export function langfuseGroup(): StatementGroup {
  const generations = namesOf((stage) => TYPE_BY_STAGE[stage] === 'generation');
  const read = namesOf(() => true);
  const ttfc = attr(ATTR.TIME_TO_FIRST_CHUNK);
  const statements: Array<string | { comment: string }> = [
    { comment: 'observation type: plain span unless the stage is a generation, tool or agent' },
    set(attr(LF.type), str('span')),
    ...Object.entries(TYPE_BY_STAGE).map(([stage, type]) => where(set(attr(LF.type), str(type)), `${attr(ATTR.STAGE)} == ${str(stage)}`)),
    where(set(attr(LF.type), str('span')), spanNameIs(...PLAIN_SPANS)),
    { comment: 'level on the stages a user reads: DEFAULT, WARNING when cancelled or interrupted, ERROR on an error status or a failed tool' },
    where(set(attr(LF.level), str('DEFAULT')), spanNameIs(...read)),
    where(set(attr(LF.level), str('WARNING')), spanNameIs(...read), `${attr(ATTR.CANCELLED)} == true`),
    where(set(attr(LF.statusMessage), str('cancelled')), spanNameIs(...read), `${attr(ATTR.CANCELLED)} == true`),
    where(set(attr(LF.level), str('WARNING')), spanNameIs(...read), `${attr(ATTR.TURN_INTERRUPTED)} == true`),
    where(set(attr(LF.statusMessage), str('interrupted by the user')), spanNameIs(...read), `${attr(ATTR.TURN_INTERRUPTED)} == true`),
    where(set(attr(LF.level), str('ERROR')), spanNameIs(...read), `${attr('lk.function_tool.is_error')} == true`),
    where(set(attr(LF.statusMessage), str('the tool returned an error')), spanNameIs(...read), `${attr('lk.function_tool.is_error')} == true`),
    where(set(attr(LF.level), str('ERROR')), spanNameIs(...read), 'span.status.code == STATUS_CODE_ERROR'),
    where(set(attr(LF.statusMessage), 'Coalesce([span.status.message, "error"])'), spanNameIs(...read), 'span.status.code == STATUS_CODE_ERROR'),
    { comment: 'usage details with an explicit total (tokens only): LLM input without its cached part, cached, output' },
    where(
      set(
        attr(LF.usage),
        `Format("{\\"input\\":%d,\\"input_cached_tokens\\":%d,\\"output\\":%d,\\"total\\":%d}", [${count(ATTR.USAGE_INPUT_TOKENS)} - ${count(ATTR.USAGE_CACHE_READ)}, ${count(ATTR.USAGE_CACHE_READ)}, ${count(ATTR.USAGE_OUTPUT_TOKENS)}, ${count(ATTR.USAGE_INPUT_TOKENS)} + ${count(ATTR.USAGE_OUTPUT_TOKENS)}])`,
      ),
      `span.name == ${str(LLM_METRICS.span)}`,
      `IsInt(${attr(ATTR.USAGE_INPUT_TOKENS)})`,
      `IsInt(${attr(ATTR.USAGE_OUTPUT_TOKENS)})`,
      `IsInt(${attr(ATTR.USAGE_CACHE_READ)})`,
    ),
    { comment: 'TTS: characters and audio milliseconds (total 0: no tokens), or its tokens when the provider bills tokens' },
    where(
      set(attr(LF.usage), `Format("{\\"tts_characters\\":%d,\\"tts_audio_ms\\":%d,\\"total\\":0}", [${count(ATTR.TTS_CHARACTERS)}, Int(${attr(ATTR.TTS_AUDIO_DURATION)} * 1000.0 + 0.5)])`),
      `span.name == ${str(TTS_METRICS.span)}`,
      `IsInt(${attr(ATTR.TTS_CHARACTERS)})`,
      `IsDouble(${attr(ATTR.TTS_AUDIO_DURATION)})`,
    ),
    where(
      set(
        attr(LF.usage),
        `Format("{\\"tts_characters\\":%d,\\"tts_audio_ms\\":%d,\\"input\\":%d,\\"output\\":%d,\\"total\\":%d}", [${count(ATTR.TTS_CHARACTERS)}, Int(${attr(ATTR.TTS_AUDIO_DURATION)} * 1000.0 + 0.5), ${count(ATTR.USAGE_INPUT_TOKENS)}, ${count(ATTR.USAGE_OUTPUT_TOKENS)}, ${count(ATTR.USAGE_INPUT_TOKENS)} + ${count(ATTR.USAGE_OUTPUT_TOKENS)}])`,
      ),
      `span.name == ${str(TTS_METRICS.span)}`,
      `IsInt(${attr(ATTR.TTS_CHARACTERS)})`,
      `IsDouble(${attr(ATTR.TTS_AUDIO_DURATION)})`,
      `IsInt(${attr(ATTR.USAGE_INPUT_TOKENS)})`,
      `IsInt(${attr(ATTR.USAGE_OUTPUT_TOKENS)})`,
    ),
    { comment: 'a plain span that names a model (user_turn, the wrappers) gets an explicit zero total, or LangFuse would count and price its text itself' },
    where(
      set(attr(LF.usage), str('{"total":0}')),
      `${attr(LF.type)} != "generation"`,
      `${attr(LF.usage)} == nil`,
      `(${attr(ATTR.REQUEST_MODEL)} != nil or ${attr('gen_ai.response.model')} != nil)`,
    ),
    where(set(attr(LF.cost), `Format("{\\"total\\":%v}", [${attr(ATTR.COST)}])`), spanNameIs(...generations), `IsDouble(${attr(ATTR.COST)})`),
    { comment: 'completion start = span start + time to first chunk (LangFuse\'s TTFT), replacing the SDK\'s (measured from another clock)' },
    where(set(attr(LF.completionStart), startPlus(ATTR.TIME_TO_FIRST_CHUNK)), spanNameIs(...generations), `IsDouble(${ttfc})`, `${ttfc} >= 0.0`),
    { comment: 'input/output: the SDK\'s content attributes (lk.pii.*), the handoff\'s agents' },
    ...LANGFUSE_CONTENT.flatMap(({ span, input, output }) => [
      ...(input ? [where(set(attr(LF.input), attr(input)), `span.name == ${str(span)}`, `IsString(${attr(input)})`, `${attr(input)} != ""`)] : []),
      ...(output ? [where(set(attr(LF.output), attr(output)), `span.name == ${str(span)}`, `IsString(${attr(output)})`, `${attr(output)} != ""`)] : []),
    ]),
    where(set(attr(LF.input), attr(ATTR.HANDOFF_FROM)), `${attr(ATTR.STAGE)} == "handoff"`, `${attr(ATTR.HANDOFF_FROM)} != nil`),
    where(set(attr(LF.output), attr(ATTR.HANDOFF_TO)), `${attr(ATTR.STAGE)} == "handoff"`, `${attr(ATTR.HANDOFF_TO)} != nil`),
    { comment: 'the trace: named on the session span (the call\'s root)' },
    where(set(attr(LF.traceName), str('voice-session')), `${attr(ATTR.STAGE)} == "session"`),
    where(set(attr(LF.traceTags), '["voice"]'), `${attr(ATTR.STAGE)} == "session"`),
    where(set(attr(`${LF.traceMetadata}.agent_name`), attr('lk.agent_label')), `${attr(ATTR.STAGE)} == "session"`, `${attr('lk.agent_label')} != nil`),
    where(set(attr(`${LF.traceMetadata}.job_id`), attr('lk.job_id')), `${attr(ATTR.STAGE)} == "session"`, `${attr('lk.job_id')} != nil`),
  ];
  return { comment: 'LangFuse: the observation type, level, usage, cost, time to first token, input/output and trace name the Node path writes', statements };
}
