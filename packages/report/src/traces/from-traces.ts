import { ATTR } from '@voicetrace/conventions';
import { buildVoicetraceSection, REPORT_GENERATOR } from '../section.js';
import type { SessionReportJson } from '../types.js';
import { validateReport } from '../validate.js';
import { decodeSession } from './decode.js';
import { DEFAULT_MAX_LINE_BYTES, readLines, splitLines, type Line } from './lines.js';
import { spansOfRequest, type FlatSpan, type SpanProblem } from './otlp.js';

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

// ---- one session's report: the span view decoded, then the live report's section builder ----

function buildReport(sessionId: string, spans: FlatSpan[], options: FromTracesOptions): SessionReportJson {
  const decoded = decodeSession(sessionId, spans);
  const section = buildVoicetraceSection(decoded.snapshot, { ...decoded.section, linkTemplates: options.linkTemplates ? { ...options.linkTemplates } : undefined });
  section.generator = `${REPORT_GENERATOR} (from traces)`;
  if (decoded.notInTraces.length) section.not_in_traces = decoded.notInTraces;
  const ended = decoded.snapshot.endedAt ?? decoded.snapshot.startedAt ?? 0;
  return {
    job_id: decoded.sdk.jobId ?? '',
    room_id: decoded.sdk.roomId ?? '',
    room: decoded.sdk.room ?? '',
    events: [],
    audio_recording_path: null,
    audio_recording_started_at: null,
    options: {},
    chat_history: { items: [] },
    enable_user_data_training: false,
    timestamp: Math.round(ended * 1000),
    usage: null,
    sdk_version: '',
    voicetrace: section,
  };
}
