import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { reportsFromTraces, type TraceProblem } from '../traces/from-traces.js';
import { DEFAULT_MAX_LINE_BYTES } from '../traces/lines.js';
import type { SessionReportJson } from '../types.js';
import { validateReport } from '../validate.js';

/** A file that holds sessions: a session report (JSON) or traces (OTLP/JSON lines). */
export interface InputFile {
  path: string;
  kind: 'report' | 'traces';
}

/** Something wrong with an input: which file (and line), and why. */
export type InputProblem = TraceProblem & { file: string };

/** Limits that keep a hostile input from exhausting memory. */
export interface ReadLimits {
  /** Largest report.json read whole (bytes). Default 256 MiB. */
  maxFileBytes?: number | undefined;
  /** Longest traces line (bytes). Default 64 MiB. */
  maxLineBytes?: number | undefined;
  /** Link templates for reports built from traces. */
  linkTemplates?: Readonly<Record<string, string>> | undefined;
}

export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;

/** How a directory is searched: names of reports, and of traces. */
export function isReportName(name: string): boolean {
  return name === 'report.json' || name.endsWith('.report.json');
}
export function isTracesName(name: string): boolean {
  return name.endsWith('.jsonl') || name === 'traces.json' || name.endsWith('.traces.json');
}

/**
 * The session files under `paths`. A file is taken as given (its kind sniffed from its first
 * bytes); a directory is searched recursively: in each directory, its report files (`report.json`,
 * `*.report.json`) when it has any, else its traces files (`*.jsonl`, `traces.json`). A path that
 * does not exist is a problem, not an error: the others are still read.
 */
export async function findInputs(paths: readonly string[], cwd = process.cwd()): Promise<{ files: InputFile[]; problems: InputProblem[] }> {
  const files: InputFile[] = [];
  const problems: InputProblem[] = [];
  const seen = new Set<string>();
  const push = (file: InputFile) => {
    if (seen.has(file.path)) return;
    seen.add(file.path);
    files.push(file);
  };
  for (const given of paths) {
    const path = resolve(cwd, given);
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      problems.push({ file: given, reason: (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : `cannot read: ${(error as Error).message}` });
      continue;
    }
    if (info.isDirectory()) {
      const before = files.length;
      await walk(path, push, problems, 0);
      if (files.length === before) problems.push({ file: given, reason: 'no report.json or traces (*.jsonl) file in this directory or below' });
    } else if (info.isFile()) push({ path, kind: await sniffKind(path) });
    else problems.push({ file: given, reason: 'not a file or directory' });
  }
  return { files, problems };
}

async function walk(dir: string, push: (f: InputFile) => void, problems: InputProblem[], depth: number): Promise<void> {
  if (depth > 32) return;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    problems.push({ file: dir, reason: `cannot list: ${(error as Error).message}` });
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const reports = entries.filter((e) => e.isFile() && isReportName(e.name));
  const traces = entries.filter((e) => e.isFile() && isTracesName(e.name));
  for (const e of reports.length ? reports : traces) push({ path: join(dir, e.name), kind: reports.length ? 'report' : 'traces' });
  for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules') await walk(join(dir, e.name), push, problems, depth + 1);
}

/** `.jsonl` is traces; otherwise the first bytes decide (`{"resourceSpans"` is traces). */
export async function sniffKind(path: string): Promise<InputFile['kind']> {
  if (path.endsWith('.jsonl')) return 'traces';
  let handle;
  try {
    handle = await open(path, 'r');
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4096), 0, 4096, 0);
    const head = buffer.subarray(0, bytesRead).toString('utf8');
    return /^\s*\{\s*"resourceSpans"/.test(head) ? 'traces' : 'report';
  } catch {
    return 'report';
  } finally {
    await handle?.close();
  }
}

/** The sessions of one file, with what was wrong in it. */
export interface LoadedFile {
  file: InputFile;
  sessions: SessionReportJson[];
  problems: InputProblem[];
}

/** Reads and validates one input file; never throws. */
export async function loadFile(file: InputFile, limits: ReadLimits = {}): Promise<LoadedFile> {
  try {
    return file.kind === 'report' ? await loadReport(file, limits) : await loadTraces(file, limits);
  } catch (error) {
    return { file, sessions: [], problems: [{ file: file.path, reason: `cannot read: ${(error as Error).message}` }] };
  }
}

async function loadReport(file: InputFile, limits: ReadLimits): Promise<LoadedFile> {
  const fail = (reason: string, line?: number): LoadedFile => ({ file, sessions: [], problems: [{ file: file.path, line, reason }] });
  const max = limits.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const info = await stat(file.path);
  if (info.size > max) return fail(`file is ${info.size} bytes, over the ${max}-byte limit for a report (--max-file-bytes)`);
  const text = await readFile(file.path, 'utf8');
  if (!text.trim()) return fail('empty file');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const { reason, line } = jsonError(text, error as Error);
    return fail(reason, line);
  }
  const problems = validateReport(parsed);
  if (problems.length) {
    const shown = problems.slice(0, 3).map((p) => `${p.path} ${p.message}`);
    const listed = `${shown.join('; ')}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}`;
    // a value out of schema in a turn's detail does not hide the session: it is summarized, and the
    // value named; the session's own counts and totals must be valid
    if (problems.every((p) => p.path.startsWith('/voicetrace/turns/')) && summarizable(parsed)) return { file, sessions: [parsed], problems: [{ file: file.path, reason: `summarized, with values out of the report schema: ${listed}` }] };
    return fail(`not a voicetrace session report (schema): ${listed}`);
  }
  return { file, sessions: [parsed as SessionReportJson], problems: [] };
}

async function loadTraces(file: InputFile, limits: ReadLimits): Promise<LoadedFile> {
  const info = await stat(file.path);
  if (info.size === 0) return { file, sessions: [], problems: [{ file: file.path, reason: 'empty file' }] };
  const { reports, problems, lines } = await reportsFromTraces({ path: file.path }, { maxLineBytes: limits.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES, linkTemplates: limits.linkTemplates });
  const out: InputProblem[] = problems.map((p) => ({ ...p, file: p.file ?? file.path }));
  if (!lines) out.push({ file: file.path, reason: 'empty file (only blank lines)' });
  else if (!reports.length && !out.length) out.push({ file: file.path, reason: 'no voicetrace session in these traces (no span carries session.id)' });
  return { file, sessions: reports, problems: out };
}

/** A JSON.parse failure as a reason and a line number (V8 reports a position, or a line and column). */
function jsonError(text: string, error: Error): { reason: string; line?: number } {
  const message = error.message;
  // V8 names the end of input, or reports the error at the text's last position (a file cut after a comma)
  const at = /position (\d+)/.exec(message);
  if (/Unexpected end of JSON input|Unterminated string|end of data/i.test(message) || (at && Number(at[1]) >= text.trimEnd().length)) {
    return { reason: `truncated: the JSON ends before the report does (file cut short?)`, line: text.split('\n').length };
  }
  const lineColumn = /line (\d+) column (\d+)/.exec(message);
  if (lineColumn) return { reason: `not valid JSON: ${message}`, line: Number(lineColumn[1]) };
  const position = /position (\d+)/.exec(message);
  if (position) {
    const at = Number(position[1]);
    const line = text.slice(0, at).split('\n').length;
    return { reason: `not valid JSON: ${message}`, line };
  }
  return { reason: `not valid JSON: ${message}` };
}


/** Whether a report that fails its schema still has every field `summarize` reads, with its type. */
function summarizable(parsed: unknown): parsed is SessionReportJson {
  const v = (parsed as { voicetrace?: Record<string, unknown> } | null)?.voicetrace;
  if (!v || typeof v !== 'object') return false;
  const numbers = ['user_turns', 'replies', 'interruptions', 'turns_dropped', 'cost'].every((k) => typeof v[k] === 'number');
  const trace = v.trace as { trace_id?: unknown } | undefined;
  const turns = Array.isArray(v.turns) && v.turns.every((t) => t && typeof t === 'object' && Array.isArray((t as { replies?: unknown }).replies));
  return typeof v.session_id === 'string' && numbers && Array.isArray(v.usage) && turns && !!trace && typeof trace === 'object';
}
