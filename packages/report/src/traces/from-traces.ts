import { ATTR, WAIT_CONTRIBUTIONS } from '@voicetrace/conventions';
import { fillTemplate, REPORT_GENERATOR } from '../section.js';
import { percentiles } from '../stats.js';
import type {
  LatencyFigures,
  Percentiles,
  ReportInterruption,
  ReportLlmStep,
  ReportRealtimeStep,
  ReportReply,
  ReportSttStep,
  ReportToolStep,
  ReportTtsStep,
  ReportTurn,
  ReportUserTurn,
  SessionReportJson,
  VoicetraceSection,
  WaitSlice,
} from '../types.js';
import { validateReport } from '../validate.js';
import { DEFAULT_MAX_LINE_BYTES, readLines, splitLines, type Line } from './lines.js';
import { isObject, spansOfRequest, type AttributeValue, type FlatSpan, type SpanProblem } from './otlp.js';

/** Where traces come from: OTLP/JSON lines as text, or a file. */
export type TracesInput = string | URL | { readonly path: string } | { readonly text: string };

export interface FromTracesOptions {
  /** Link templates by backend, `{trace_id}` and `{session_id}` filled in (e.g. `{ jaeger: 'http://localhost:16686/trace/{trace_id}' }`). */
  linkTemplates?: Readonly<Record<string, string>> | undefined;
  /** Longest line read (bytes); longer lines are skipped and reported. Default 64 MiB. */
  maxLineBytes?: number | undefined;
  /** The file name used in problems when the input is text. */
  name?: string | undefined;
}

/** Something wrong in the input: where (file, line) and why. The rest of the input is still read. */
export interface TraceProblem {
  file?: string | undefined;
  /** 1-based line number. */
  line?: number | undefined;
  /** The session, when the problem is with a built report. */
  session?: string | undefined;
  reason: string;
}

/** Every session found in the input, and what could not be read. */
export interface TracesReports {
  reports: SessionReportJson[];
  problems: TraceProblem[];
  /** Lines read (non-blank). */
  lines: number;
  /** Spans read. */
  spans: number;
}

/** Why {@link reportFromTraces} could not return one report. */
export class TracesError extends Error {
  constructor(
    message: string,
    readonly problems: TraceProblem[],
  ) {
    super(message);
    this.name = 'TracesError';
  }
}

/**
 * The session reports of OTLP/JSON lines written by voicetrace (one `ExportTraceServiceRequest`
 * per line, the Collector `file` exporter format), one per `session.id`. A string is JSONL text
 * when it starts with `{`, else a file path; files are streamed line by line. Bad lines
 * (malformed, truncated, too long, wrong types) are skipped and listed in `problems`.
 */
export async function reportsFromTraces(input: TracesInput, options: FromTracesOptions = {}): Promise<TracesReports> {
  const collector = new TraceCollector(options);
  const source = normalize(input);
  if ('text' in source) {
    for (const line of splitLines(source.text, options.maxLineBytes)) collector.addLine(line, options.name);
  } else {
    for await (const line of readLines(source.path, options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES)) collector.addLine(line, source.path);
  }
  return collector.finish();
}

/**
 * The session report of one session in OTLP/JSON lines (see {@link reportsFromTraces}). With
 * several sessions in the input, `sessionId` picks one. Throws {@link TracesError} when there is
 * no (such) session or when it is ambiguous.
 */
export async function reportFromTraces(input: TracesInput, options: FromTracesOptions & { sessionId?: string | undefined } = {}): Promise<SessionReportJson> {
  const { reports, problems } = await reportsFromTraces(input, options);
  const where = options.name ?? (typeof input === 'object' && 'path' in input ? input.path : input instanceof URL ? input.pathname : 'the traces');
  if (options.sessionId !== undefined) {
    const report = reports.find((r) => r.voicetrace.session_id === options.sessionId);
    if (!report) throw new TracesError(`${where}: no session ${options.sessionId} (found: ${reports.map((r) => r.voicetrace.session_id).join(', ') || 'none'})`, problems);
    return report;
  }
  if (reports.length === 1) return reports[0]!;
  if (reports.length === 0) {
    const first = problems[0];
    throw new TracesError(`${where}: no voicetrace session found${first ? ` (${formatProblem(first)})` : ''}`, problems);
  }
  throw new TracesError(`${where}: ${reports.length} sessions (${reports.map((r) => r.voicetrace.session_id).join(', ')}); choose one with sessionId`, problems);
}

/** `file:line: reason`. */
export function formatProblem(problem: TraceProblem): string {
  const where = [problem.file, problem.line].filter((p) => p !== undefined).join(':');
  return `${where ? `${where}: ` : ''}${problem.session ? `session ${problem.session}: ` : ''}${problem.reason}`;
}

function normalize(input: TracesInput): { path: string } | { text: string } {
  if (input instanceof URL) return { path: decodeURIComponent(input.pathname) };
  if (typeof input === 'string') return input.trimStart().startsWith('{') ? { text: input } : { path: input };
  return input;
}

/**
 * Reads OTLP/JSON lines one at a time (from any source) and builds a report per session at the
 * end. {@link reportsFromTraces} drives it for text and files.
 */
export class TraceCollector {
  private readonly spans: FlatSpan[] = [];
  private readonly problems: TraceProblem[] = [];
  private lineCount = 0;

  constructor(private readonly options: FromTracesOptions = {}) {}

  /** One line of a file (see `readLines`). */
  addLine(line: Line, file?: string): void {
    this.lineCount++;
    if (line.tooLong !== undefined) {
      this.problems.push({ file, line: line.number, reason: `line is ${line.tooLong} bytes, over the ${this.options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES}-byte limit: skipped` });
      return;
    }
    let request: unknown;
    try {
      request = JSON.parse(line.text);
    } catch (error) {
      const message = (error as Error).message;
      const truncated = line.lastWithoutNewline && /end of (JSON )?input|Unterminated|Expected/i.test(message);
      this.problems.push({
        file,
        line: line.number,
        reason: truncated ? `truncated: the last line ends in the middle of a JSON value (file cut short?): ${message}` : `not valid JSON: ${message}`,
      });
      return;
    }
    this.addRequest(request, file, line.number);
  }

  /** One parsed `ExportTraceServiceRequest`. */
  addRequest(request: unknown, file?: string, line?: number): void {
    const problems: SpanProblem[] = [];
    for (const span of spansOfRequest(request, problems)) this.spans.push(span);
    for (const p of problems) this.problems.push({ file, line, reason: p.reason });
  }

  finish(): TracesReports {
    const reports: SessionReportJson[] = [];
    for (const [sessionId, spans] of groupBySession(this.spans)) {
      const report = buildReport(sessionId, spans, this.options);
      const invalid = validateReport(report);
      if (invalid.length) {
        // a bug here, or values no clamp caught: say where, keep the other sessions
        const shown = invalid.slice(0, 3).map((p) => `${p.path} ${p.message}`).join('; ');
        this.problems.push({ session: sessionId, reason: `the report built from its spans does not match the schema: ${shown}` });
        continue;
      }
      reports.push(report);
    }
    if (this.spans.length && !reports.length && !this.problems.length) this.problems.push({ reason: 'spans found, but none carries a session.id: not written by voicetrace?' });
    return { reports, problems: this.problems, lines: this.lineCount, spans: this.spans.length };
  }
}

/** Spans by `session.id`; a span without one joins the session of its trace. */
function groupBySession(spans: FlatSpan[]): Map<string, FlatSpan[]> {
  const traceSession = new Map<string, string>();
  for (const span of spans) {
    const id = span.attributes[ATTR.SESSION_ID];
    if (typeof id === 'string' && id && !traceSession.has(span.traceId)) traceSession.set(span.traceId, id);
  }
  const out = new Map<string, FlatSpan[]>();
  for (const span of spans) {
    const own = span.attributes[ATTR.SESSION_ID];
    const id = typeof own === 'string' && own ? own : traceSession.get(span.traceId);
    if (!id) continue;
    let list = out.get(id);
    if (!list) out.set(id, (list = []));
    list.push(span);
  }
  return out;
}

// ---- building one session's report ---------------------------------------------------------

const EPOCH_MIN = 978307200;
const EPOCH_MAX = 4102444800;

interface ReplyBuild {
  key: string;
  turnIndex: number;
  agentTurns: FlatSpan[];
  llm: FlatSpan[];
  tts: FlatSpan[];
  tools: FlatSpan[];
  realtime: FlatSpan[];
  interruptions: FlatSpan[];
}

interface TurnBuild {
  index: number;
  userTurn?: FlatSpan;
  vad: FlatSpan[];
  stt: FlatSpan[];
  eou: FlatSpan[];
  replies: Map<string, ReplyBuild>;
  handoffs: ReportTurn['handoffs'];
  errors: ReportTurn['errors'];
}

function buildReport(sessionId: string, all: FlatSpan[], options: FromTracesOptions): SessionReportJson {
  const spans = all.filter((s) => s.start >= EPOCH_MIN && s.start <= EPOCH_MAX).sort((a, b) => a.start - b.start || a.end - b.end);
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const stageOf = (s: FlatSpan) => str(s.attributes[ATTR.STAGE]) ?? SDK_STAGE[s.name];
  const session = spans.find((s) => stageOf(s) === 'session');
  const turns = new Map<number, TurnBuild>();
  const turn = (index: number): TurnBuild => {
    let t = turns.get(index);
    if (!t) turns.set(index, (t = { index, vad: [], stt: [], eou: [], replies: new Map(), handoffs: [], errors: [] }));
    return t;
  };
  const turnIndexOf = (s: FlatSpan) => count(s.attributes[ATTR.TURN_INDEX]);
  let pii = false;
  for (const s of spans) {
    for (const key in s.attributes) if (key.startsWith('lk.pii.') || key.startsWith('voicetrace.pii.')) pii = true;
  }

  // user side and agent turns first: the other stages are placed under them
  let userOrder = 0;
  for (const s of spans) {
    const stage = stageOf(s);
    if (stage === 'user_turn') {
      const t = turn(turnIndexOf(s) ?? ++userOrder);
      userOrder = Math.max(userOrder, t.index);
      t.userTurn ??= s;
    } else if (stage === 'agent_turn') {
      const index = turnIndexOf(s) ?? userOrder;
      const key = str(s.attributes['lk.speech_id']) ?? s.spanId;
      const t = turn(index);
      let reply = t.replies.get(key);
      if (!reply) t.replies.set(key, (reply = { key, turnIndex: index, agentTurns: [], llm: [], tts: [], tools: [], realtime: [], interruptions: [] }));
      reply.agentTurns.push(s);
    }
  }
  const replyOfSpan = new Map<string, ReplyBuild>();
  for (const t of turns.values()) for (const r of t.replies.values()) for (const a of r.agentTurns) replyOfSpan.set(a.spanId, r);
  const replyFor = (s: FlatSpan): ReplyBuild | undefined => {
    // the agent_turn above it (llm_request > llm_node > agent_turn), else by turn and time
    let parent = s.parentSpanId ? byId.get(s.parentSpanId) : undefined;
    for (let depth = 0; parent && depth < 32; depth++) {
      const r = replyOfSpan.get(parent.spanId);
      if (r) return r;
      parent = parent.parentSpanId ? byId.get(parent.parentSpanId) : undefined;
    }
    const index = turnIndexOf(s);
    const candidates = index !== undefined ? [...(turns.get(index)?.replies.values() ?? [])] : [];
    if (!candidates.length) return undefined;
    const within = candidates.find((r) => r.agentTurns.some((a) => s.start >= a.start && s.start <= a.end));
    return within ?? candidates.filter((r) => r.agentTurns[0]!.start <= s.start).pop() ?? candidates[0];
  };
  const turnStart = (t: TurnBuild): number | undefined =>
    min([t.userTurn?.start, ...t.vad.map((s) => s.start), ...[...t.replies.values()].flatMap((r) => r.agentTurns.map((a) => a.start))]);
  const turnAt = (at: number): number => {
    let best = 0;
    let bestStart = -Infinity;
    for (const t of turns.values()) {
      const start = turnStart(t);
      if (start !== undefined && start <= at && start >= bestStart) {
        best = t.index;
        bestStart = start;
      }
    }
    return best;
  };

  for (const s of spans) {
    const stage = stageOf(s);
    const index = turnIndexOf(s);
    switch (stage) {
      case 'vad':
      case 'stt':
      case 'eou': {
        const t = turn(index ?? turnAt(s.start));
        t[stage].push(s);
        break;
      }
      case 'llm':
      case 'tts':
      case 'tool':
      case 'realtime':
      case 'interruption': {
        const r = replyFor(s);
        if (!r) break; // e.g. the greeting's TTS before any reply: its usage is in the session's
        const list = stage === 'tool' ? r.tools : stage === 'interruption' ? r.interruptions : r[stage];
        list.push(s);
        break;
      }
      case 'handoff': {
        const to = str(s.attributes[ATTR.HANDOFF_TO]);
        if (!to) break;
        turn(index ?? turnAt(s.start)).handoffs.push(clean({ at: s.start, from_agent: str(s.attributes[ATTR.HANDOFF_FROM]) || undefined, to_agent: to }));
        break;
      }
    }
    if (s.statusCode === 2) {
      turn(index ?? turnAt(s.start)).errors.push({ at: s.end, source: s.name, message: s.statusMessage ?? `${s.name} failed`, recoverable: stage !== 'session' });
    }
  }

  // traces written since the model anchors the user's speech at the VAD carry each reply's first audio;
  // older ones measured from the end-of-utterance detector's last speaking time, and are read that way
  const vadAnchored = spans.some((s) => s.attributes[ATTR.REPLY_FIRST_AUDIO_AT] !== undefined);
  const reportTurns: ReportTurn[] = [...turns.values()]
    .sort((a, b) => a.index - b.index)
    .map((t) => {
      // a realtime model's user turn has no span: its speech bounds are on the agent turn that answered it
      const spokenOn = [...t.replies.values()].flatMap((r) => r.agentTurns).find((a) => epoch(a.attributes[ATTR.VAD_SPEECH_END]) !== undefined);
      const user = t.userTurn || spokenOn || t.vad.length || t.stt.length || t.eou.length ? reportUser(t, spokenOn, vadAnchored) : undefined;
      const replies = [...t.replies.values()]
        .map((r) => reportReply(r, user, turns))
        .sort((a, b) => a.started_at - b.started_at);
      return clean({ index: t.index, user, replies, handoffs: t.handoffs, errors: t.errors, logs: [] });
    });

  const replies = reportTurns.flatMap((t) => t.replies);
  const latency: Record<string, Percentiles> = {};
  for (const key of LATENCY_KEYS) {
    const values = replies.map((r) => r.latency?.[key]).filter((v): v is number => v !== undefined);
    if (values.length) latency[key] = percentiles(values);
  }
  const wait: Record<string, Percentiles> = {};
  const waitValues = new Map<string, number[]>();
  for (const r of replies) {
    for (const slice of r.wait) {
      let list = waitValues.get(slice.key);
      if (!list) waitValues.set(slice.key, (list = []));
      list.push(slice.seconds);
    }
  }
  for (const [key, values] of waitValues) wait[key] = percentiles(values);

  const sa = session?.attributes ?? {};
  const usage = sessionUsage(sa[ATTR.SESSION_USAGE]);
  const started = session?.start ?? min(spans.map((s) => s.start));
  const ended = session?.end ?? max(spans.map((s) => s.end));
  const traceId = session?.traceId ?? spans[0]?.traceId;
  const links: Record<string, string> = {};
  for (const [name, template] of Object.entries(options.linkTemplates ?? {})) {
    if (traceId || !template.includes('{trace_id}')) links[name] = fillTemplate(template, { trace_id: traceId ?? '', session_id: sessionId });
  }
  const allHandoffs = reportTurns.flatMap((t) => t.handoffs.map((h) => clean({ at: h.at, turn_index: t.index, from_agent: h.from_agent, to_agent: h.to_agent })));
  const dropped = count(sa[ATTR.SESSION_DROPS]);
  const traceIds = new Set(spans.map((s) => s.traceId));
  const section: VoicetraceSection = clean({
    schema_version: 1,
    generator: `${REPORT_GENERATOR} (from traces)`,
    session_id: sessionId,
    service_name: spans.find((s) => s.serviceName)?.serviceName,
    environment: str(sa[ATTR.ENVIRONMENT]) ?? spans.map((s) => str(s.attributes[ATTR.ENVIRONMENT])).find(Boolean),
    started_at: started,
    ended_at: ended,
    duration: started !== undefined && ended !== undefined ? Math.max(0, ended - started) : undefined,
    pii_included: pii,
    trace: {
      mode: traceIds.size > 1 || spans.some((s) => s.attributes[ATTR.REPARENTED] === true) ? 'turn' : 'session',
      trace_id: traceId,
      session_span_id: session?.spanId,
      links,
    },
    turns: reportTurns,
    turns_dropped: 0,
    user_turns: count(sa[ATTR.SESSION_TURNS]) ?? reportTurns.filter((t) => t.user).length,
    replies: count(sa[ATTR.SESSION_AGENT_TURNS]) ?? replies.length,
    interruptions: count(sa[ATTR.SESSION_INTERRUPTIONS]) ?? replies.filter((r) => r.interrupted).length,
    // the session's counts as the model counted them (COUNT_DEFINITIONS); an older trace without them: from its turns
    cancelled_replies: count(sa[ATTR.SESSION_CANCELLED_REPLIES]),
    errors: count(sa[ATTR.SESSION_ERRORS]) ?? reportTurns.reduce((n, t) => n + t.errors.length, 0),
    handoffs: allHandoffs,
    usage,
    cost: usd(sa[ATTR.SESSION_COST]) ?? (usage.length ? sum(usage.map((u) => u.cost ?? 0)) : sum(replies.map((r) => r.cost))),
    latency,
    wait,
    drops: (dropped ? { dropped_inputs: dropped } : {}) as Record<string, number>,
    event_log: { kept: 0, dropped: 0 },
  });
  return {
    job_id: str(sa['lk.job_id']) ?? '',
    room_id: str(sa['lk.room_id']) ?? '',
    room: str(sa['lk.pii.room_name']) ?? str(sa['lk.room_name']) ?? '',
    events: [],
    audio_recording_path: null,
    audio_recording_started_at: null,
    options: {},
    chat_history: { items: [] },
    enable_user_data_training: false,
    timestamp: Math.round((ended ?? started ?? 0) * 1000),
    usage: null,
    sdk_version: '',
    voicetrace: section,
  };
}

const SDK_STAGE: Record<string, string> = { agent_session: 'session', user_turn: 'user_turn', agent_turn: 'agent_turn', llm_request: 'llm', tts_request: 'tts', function_tool: 'tool' };
const LATENCY_KEYS = ['e2e', 'eou_delay', 'transcription_delay', 'on_user_turn_completed_delay', 'llm_ttft', 'tts_ttfb', 'total'] as const;

function reportUser(t: TurnBuild, spokenOn: FlatSpan | undefined, vadAnchored: boolean): ReportUserTurn {
  const u = t.userTurn;
  const spoken = spokenOn?.attributes ?? {};
  const a: Record<string, AttributeValue | undefined> = { [ATTR.VAD_SPEECH_START]: spoken[ATTR.VAD_SPEECH_START], [ATTR.VAD_SPEECH_END]: spoken[ATTR.VAD_SPEECH_END], ...u?.attributes };
  const vad = t.vad;
  const eou = t.eou[0];
  const stt: ReportSttStep[] = t.stt.map((s) =>
    clean({
      provider: str(s.attributes[ATTR.PROVIDER_NAME]) ?? 'unknown',
      model: str(s.attributes[ATTR.REQUEST_MODEL]) ?? 'unknown',
      start: s.start,
      end: s.end,
      latency: seconds(s.attributes[ATTR.STT_LATENCY]),
      audio_duration: seconds(s.attributes[ATTR.STT_AUDIO_DURATION]) ?? 0,
      cost: usd(s.attributes[ATTR.COST]),
    }),
  );
  const speechStart = epoch(a[ATTR.VAD_SPEECH_START]) ?? min(vad.map((v) => epoch(v.attributes[ATTR.VAD_SPEECH_START])));
  // the VAD's end of speech (the SDK's anchor) as the model wrote it; in older traces the end-of-utterance detector's last speaking time
  const vadEnd = epoch(a[ATTR.VAD_SPEECH_END]);
  const eouEnd = epoch(eou?.attributes[ATTR.EOU_LAST_SPEAKING_TIME]);
  const speechEnd = (vadAnchored ? (vadEnd ?? eouEnd) : (eouEnd ?? vadEnd)) ?? min(vad.map((v) => epoch(v.attributes[ATTR.VAD_SPEECH_END])));
  const transcript = str(a['lk.pii.user_transcript']) ?? t.stt.map((s) => str(s.attributes[ATTR.PII_USER_TRANSCRIPT])).find(Boolean) ?? str(spoken[ATTR.PII_USER_TRANSCRIPT]);
  const confidence = num(a['lk.transcript_confidence']);
  return clean({
    started_at: u?.start ?? min([...vad, ...t.stt, ...t.eou].map((s) => s.start)) ?? speechStart!,
    ended_at: u?.end,
    speech_start: speechStart,
    speech_end: speechEnd,
    speech_stopped_at: vad.length ? vad[vad.length - 1]!.end : undefined,
    final_transcript_at: t.stt.length ? max(t.stt.map((s) => s.end)) : undefined,
    transcription_delay: seconds(a[ATTR.LATENCY_TRANSCRIPTION_DELAY]) ?? seconds(eou?.attributes[ATTR.EOU_TRANSCRIPTION_DELAY]),
    end_of_turn_delay: seconds(a[ATTR.LATENCY_EOU_DELAY]) ?? seconds(eou?.attributes[ATTR.EOU_DELAY]),
    transcript,
    confidence: confidence !== undefined && confidence >= 0 && confidence <= 1 ? confidence : undefined,
    vad: vad.length
      ? {
          inference_count: sum(vad.map((v) => count(v.attributes[ATTR.VAD_INFERENCE_COUNT]) ?? 0)),
          inference_time_total: sumDefined(vad.map((v) => seconds(v.attributes[ATTR.VAD_INFERENCE_TIME]))),
          idle_time: seconds(vad[vad.length - 1]!.attributes[ATTR.VAD_IDLE_TIME]),
        }
      : undefined,
    stt,
    eou: eou
      ? {
          start: eou.start,
          end: eou.end,
          delay: seconds(eou.attributes[ATTR.EOU_DELAY]),
          transcription_delay: seconds(eou.attributes[ATTR.EOU_TRANSCRIPTION_DELAY]),
          on_user_turn_completed_delay: seconds(eou.attributes[ATTR.EOU_ON_USER_TURN_COMPLETED]),
        }
      : undefined,
    trace: u ? { trace_id: u.traceId, span_id: u.spanId } : undefined,
  });
}

function reportReply(r: ReplyBuild, user: ReportUserTurn | undefined, turns: Map<number, TurnBuild>): ReportReply {
  const agentTurns = r.agentTurns;
  // the agent_turn span that carries the reply's figures (the last step of a tool-calling reply)
  const primary = agentTurns.find((s) => s.attributes[ATTR.LATENCY_E2E] !== undefined) ?? agentTurns[agentTurns.length - 1]!;
  const pa = primary.attributes;
  const latency: LatencyFigures = clean({
    transcription_delay: seconds(pa[ATTR.LATENCY_TRANSCRIPTION_DELAY]),
    eou_delay: seconds(pa[ATTR.LATENCY_EOU_DELAY]),
    on_user_turn_completed_delay: seconds(pa[ATTR.LATENCY_ON_USER_TURN_COMPLETED]),
    llm_ttft: seconds(pa[ATTR.LATENCY_LLM_TTFT]),
    tts_ttfb: seconds(pa[ATTR.LATENCY_TTS_TTFB]),
    total: seconds(pa[ATTR.LATENCY_TOTAL]),
    e2e: seconds(pa[ATTR.LATENCY_E2E]),
  });
  const llm: ReportLlmStep[] = r.llm.map(llmStep);
  const tts: ReportTtsStep[] = r.tts.map(ttsStep);
  const tools: ReportToolStep[] = r.tools.map((s) =>
    clean({
      name: str(s.attributes['gen_ai.tool.name']) ?? str(s.attributes['lk.function_tool.name']),
      start: s.start,
      end: s.end,
      is_error: s.attributes['lk.function_tool.is_error'] === true || s.statusCode === 2,
      arguments: str(s.attributes['lk.pii.function_tool.arguments']),
      output: str(s.attributes['lk.pii.function_tool.output']),
    }),
  );
  const realtime: ReportRealtimeStep[] = r.realtime.map(realtimeStep);
  const started = min(agentTurns.map((s) => s.start))!;
  const ended = max(agentTurns.map((s) => s.end));
  const e2e = latency.e2e;
  // the model's figure when the span carries it; older traces: the same rule as the model's
  const firstAudio =
    min(agentTurns.map((s) => epoch(s.attributes[ATTR.REPLY_FIRST_AUDIO_AT]))) ??
    (e2e !== undefined && user?.speech_end !== undefined ? user.speech_end + e2e : min(tts.filter((s) => !s.duplicate).map((s) => s.first_audio_at)));
  const interrupted = agentTurns.some((s) => s.attributes[ATTR.TURN_INTERRUPTED] === true || s.attributes['lk.interrupted'] === true);
  const interruptions: ReportInterruption[] = r.interruptions.map((s) =>
    clean({
      start: s.start,
      end: s.end,
      overlap: seconds(s.attributes[ATTR.TURN_OVERLAP]),
      stopped_agent: interrupted,
      detection_delay: seconds(s.attributes[ATTR.INTERRUPTION_DETECTION_DELAY]),
      prediction_time: seconds(s.attributes[ATTR.INTERRUPTION_PREDICTION_TIME]),
      round_trip: seconds(s.attributes[ATTR.INTERRUPTION_ROUND_TRIP]),
    }),
  );
  const overlap = seconds(pa[ATTR.TURN_OVERLAP]);
  if (!interruptions.length && overlap !== undefined && ended !== undefined) {
    // no interruption span (no interruption model): the barge-in the agent turn records, from the
    // next user turn's speech start when it fell while the agent spoke, else end minus the overlap
    const next = turns.get(r.turnIndex + 1)?.userTurn;
    const nextStart = epoch(next?.attributes[ATTR.VAD_SPEECH_START]) ?? next?.start;
    const start = nextStart !== undefined && nextStart <= ended && (firstAudio === undefined || nextStart >= firstAudio) ? nextStart : Math.max(started, ended - overlap);
    interruptions.push({ start, end: ended, overlap, stopped_agent: interrupted });
  }
  const text = str(pa['lk.pii.response.text']) || agentTurns.map((s) => str(s.attributes['lk.pii.response.text'])).filter(Boolean).pop() || r.tts.map((s) => str(s.attributes[ATTR.PII_RESPONSE_TEXT])).filter(Boolean).join(' ') || undefined;
  const stepCost = sum([...llm, ...tts.filter((s) => !s.duplicate), ...realtime].map((s) => s.cost ?? 0)) + sum((user?.stt ?? []).map((s) => s.cost ?? 0));
  return clean({
    speech_id: str(pa['lk.speech_id']) ?? r.key,
    agent: str(pa[ATTR.AGENT_NAME]),
    started_at: started,
    ended_at: ended,
    first_audio_at: firstAudio,
    interrupted,
    text,
    latency: Object.keys(latency).length ? latency : undefined,
    wait: waitSlices(pa),
    cost: usd(pa[ATTR.TURN_COST]) ?? stepCost,
    data_incomplete: agentTurns.some((s) => s.attributes[ATTR.DATA_INCOMPLETE] === true) || undefined,
    llm,
    tts,
    tools,
    realtime,
    interruptions,
    trace: { trace_id: primary.traceId, span_id: primary.spanId },
  });
}

/**
 * When an LLM or TTS request began: its end less its duration, where its end is the SDK's metrics
 * timestamp, or the span's end when the export left the metrics JSON out (the SDK stamps them when the
 * request ends, with its span); the span's start when neither gives a plausible time.
 */
function requestStartOf(s: FlatSpan, metrics: ReturnType<typeof jsonObject>, duration: number | undefined): number {
  const at = epoch(typeof metrics?.timestamp === 'number' ? metrics.timestamp / 1000 : undefined) ?? (metrics ? undefined : s.end);
  return at !== undefined && duration !== undefined && at - duration >= EPOCH_MIN ? at - duration : s.start;
}

function llmStep(s: FlatSpan): ReportLlmStep {
  const a = s.attributes;
  const metrics = jsonObject(a['lk.llm_metrics']);
  const ttft = seconds(a[ATTR.TIME_TO_FIRST_CHUNK]) ?? msToSeconds(metrics?.ttftMs);
  const duration = seconds(a[ATTR.DURATION]) ?? msToSeconds(metrics?.durationMs);
  const requestStart = requestStartOf(s, metrics, duration);
  const finish = a['gen_ai.response.finish_reasons'];
  const reasons = Array.isArray(finish) ? finish.map(String) : typeof finish === 'string' ? [finish] : [];
  return clean({
    provider: str(a[ATTR.PROVIDER_NAME]) ?? 'unknown',
    model: str(a[ATTR.REQUEST_MODEL]) ?? str(a['gen_ai.response.model']) ?? 'unknown',
    start: s.start,
    end: s.end,
    request_start: requestStart,
    first_token_at: ttft !== undefined ? requestStart + ttft : undefined,
    ttft,
    duration,
    input_tokens: count(a[ATTR.USAGE_INPUT_TOKENS]) ?? 0,
    cached_input_tokens: count(a[ATTR.USAGE_CACHE_READ]) ?? 0,
    output_tokens: count(a[ATTR.USAGE_OUTPUT_TOKENS]) ?? 0,
    speakable: !reasons.some((r) => /tool/.test(r)),
    cancelled: a[ATTR.CANCELLED] === true,
    cost: usd(a[ATTR.COST]),
  });
}

function ttsStep(s: FlatSpan): ReportTtsStep {
  const a = s.attributes;
  const metrics = jsonObject(a['lk.tts_metrics']);
  const ttfb = seconds(a[ATTR.TIME_TO_FIRST_CHUNK]) ?? msToSeconds(metrics?.ttfbMs);
  const duration = seconds(a[ATTR.DURATION]) ?? msToSeconds(metrics?.durationMs);
  const textSent = requestStartOf(s, metrics, duration);
  return clean({
    provider: str(a[ATTR.PROVIDER_NAME]) ?? 'unknown',
    model: str(a[ATTR.REQUEST_MODEL]) ?? 'unknown',
    start: s.start,
    end: s.end,
    text_sent_at: textSent,
    first_audio_at: ttfb !== undefined ? textSent + ttfb : undefined,
    ttfb,
    characters: count(a[ATTR.TTS_CHARACTERS]) ?? 0,
    audio_duration: seconds(a[ATTR.TTS_AUDIO_DURATION]) ?? 0,
    cancelled: a[ATTR.CANCELLED] === true,
    duplicate: a[ATTR.USAGE_COUNTED_ELSEWHERE] === true,
    cost: usd(a[ATTR.COST]),
  });
}

function realtimeStep(s: FlatSpan): ReportRealtimeStep {
  const a = s.attributes;
  return clean({
    provider: str(a[ATTR.PROVIDER_NAME]) ?? 'unknown',
    model: str(a[ATTR.REQUEST_MODEL]) ?? 'unknown',
    start: s.start,
    end: s.end,
    ttft: seconds(a[ATTR.TIME_TO_FIRST_CHUNK]),
    duration: seconds(a[ATTR.DURATION]),
    cancelled: a[ATTR.CANCELLED] === true,
    input_tokens: count(a[ATTR.USAGE_INPUT_TOKENS]) ?? 0,
    output_tokens: count(a[ATTR.USAGE_OUTPUT_TOKENS]) ?? 0,
    input_audio_tokens: count(a[ATTR.USAGE_AUDIO_INPUT]) ?? 0,
    input_text_tokens: count(a[ATTR.USAGE_TEXT_INPUT]) ?? 0,
    input_cached_tokens: count(a[ATTR.USAGE_CACHE_READ]) ?? 0,
    output_audio_tokens: count(a[ATTR.USAGE_AUDIO_OUTPUT]) ?? 0,
    output_text_tokens: count(a[ATTR.USAGE_TEXT_OUTPUT]) ?? 0,
    session_duration: seconds(a[ATTR.REALTIME_SESSION_DURATION]),
    cost: usd(a[ATTR.COST]),
  });
}

/** The reply's wait slices: the breakdown JSON as written, else the per-key attributes in order. */
function waitSlices(a: Record<string, AttributeValue>): WaitSlice[] {
  const raw = a[ATTR.WAIT_BREAKDOWN];
  if (typeof raw === 'string') {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (Array.isArray(parsed)) {
        const slices = parsed.filter(
          (s): s is WaitSlice => isObject(s) && typeof s.key === 'string' && typeof s.owner === 'string' && typeof s.seconds === 'number' && Number.isFinite(s.seconds) && s.seconds >= -1e-9,
        );
        if (slices.length === parsed.length) return slices.map((s) => ({ key: s.key, owner: s.owner, seconds: s.seconds }));
      }
    } catch {
      // fall through to the per-key attributes
    }
  }
  const out: WaitSlice[] = [];
  for (const c of WAIT_CONTRIBUTIONS) {
    const v = seconds(a[c.attribute]);
    if (v !== undefined) out.push({ key: c.key, owner: c.owner, seconds: v });
  }
  return out;
}

/** The session span's usage JSON (the model's camelCase) as the report's snake_case entries. */
function sessionUsage(raw: AttributeValue | undefined): VoicetraceSection['usage'] {
  if (typeof raw !== 'string') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const out: VoicetraceSection['usage'] = [];
  for (const entry of parsed) {
    if (!isObject(entry) || typeof entry.provider !== 'string' || typeof entry.model !== 'string') continue;
    if (!['llm_usage', 'tts_usage', 'stt_usage', 'interruption_usage'].includes(entry.type as string)) continue;
    const snake: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(entry)) snake[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = v;
    if (snake.cost !== undefined && usd(snake.cost as AttributeValue) === undefined) delete snake.cost;
    out.push(snake as VoicetraceSection['usage'][number]);
  }
  return out;
}

// ---- value guards: what the schema accepts, else undefined ------------------------------------

function str(v: AttributeValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function num(v: AttributeValue | undefined): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
function seconds(v: AttributeValue | undefined): number | undefined {
  const n = num(v);
  return n !== undefined && n >= 0 ? n : undefined;
}
function usd(v: AttributeValue | undefined): number | undefined {
  return seconds(v);
}
function count(v: AttributeValue | undefined): number | undefined {
  const n = num(v);
  return n !== undefined && n >= 0 && Number.isInteger(n) ? n : undefined;
}
function epoch(v: AttributeValue | undefined): number | undefined {
  const n = num(v);
  return n !== undefined && n >= EPOCH_MIN && n <= EPOCH_MAX ? n : undefined;
}
function msToSeconds(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v / 1000 : undefined;
}
function jsonObject(v: AttributeValue | undefined): Record<string, unknown> | undefined {
  if (typeof v !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(v);
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
function min(values: Array<number | undefined>): number | undefined {
  let out: number | undefined;
  for (const v of values) if (v !== undefined && (out === undefined || v < out)) out = v;
  return out;
}
function max(values: Array<number | undefined>): number | undefined {
  let out: number | undefined;
  for (const v of values) if (v !== undefined && (out === undefined || v > out)) out = v;
  return out;
}
function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
function sumDefined(values: Array<number | undefined>): number | undefined {
  const present = values.filter((v): v is number => v !== undefined);
  return present.length ? sum(present) : undefined;
}
/** Drops undefined properties (deeply). */
function clean<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

