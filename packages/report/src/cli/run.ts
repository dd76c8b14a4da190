import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { renderReportHtml } from '../html/render.js';
import { REPORT_GENERATOR } from '../section.js';
import type { ReportClip, SessionReportJson } from '../types.js';
import { writeFileAtomic } from '../write.js';
import { compareSummaries, LATENCY_STAGE_NAMES, parseThresholds, QUANTILES, renderComparison, ThresholdError } from './compare.js';
import { isReportName, isTracesName, loadFile, sniffKind, type InputProblem, type ReadLimits } from './inputs.js';
import { ProgressBar, type CliStream } from './progress.js';
import { problemText, renderSummary } from './render-summary.js';
import { summarizePaths, type SessionSetSummary } from './summary.js';

/** The CLI's exit codes (documented in the package README and `voicetrace --help`). */
export const EXIT = {
  /** Done. */
  OK: 0,
  /** compare: a stage regressed past a `--max-regression` threshold. */
  REGRESSION: 1,
  /** Unknown command or option, missing argument, bad threshold. */
  USAGE: 2,
  /** No valid input: missing, empty, truncated or malformed files, no session found. */
  NO_INPUT: 3,
  /** `--strict`: some input files or lines were bad (the output was still produced). */
  BAD_INPUT: 4,
  /** The output could not be written. */
  WRITE_FAILED: 5,
  /** A bug: the message says so (VOICETRACE_DEBUG=1 prints the stack). */
  INTERNAL: 70,
} as const;

/** Where the CLI reads and writes; every field defaults to the process's own. */
export interface CliIo {
  stdout?: CliStream | undefined;
  stderr?: CliStream | undefined;
  /** Base of relative paths. */
  cwd?: string | undefined;
  env?: Readonly<Record<string, string | undefined>> | undefined;
}

/** `text` on lines of at most `width` characters, broken at spaces. */
function wrap(text: string, width: number): string {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last]!.length + 1 + word.length <= width) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines.join('\n');
}

const GLOBAL_HELP = `voicetrace: HTML reports and latency statistics from voicetrace session reports and traces

Usage:
  voicetrace report <report.json | traces.jsonl | dir> [-o report.html]
  voicetrace summarize <dir | file>... [--json] [--top N]
  voicetrace compare <baseline> <candidate> [--max-regression p95=15%]... [--json]
  voicetrace <command> --help        options of one command
  voicetrace --version

Commands:
  report      the offline HTML page of one session: turn waterfall, latency percentiles,
              transcript, usage and cost, and the recording when there is one
  summarize   over every session found: p50/p95/p99 per stage and per wait contribution,
              cost per session and per model, interruption rate, the slowest turns
  compare     two sets of sessions side by side per stage; exit code 1 when a stage
              regresses past a --max-regression threshold (for CI)

Inputs: report.json files as voicetrace writes them beside each session, or OTLP/JSON lines
(*.jsonl: voicetrace's file exporter, the Collector's file exporter). Directories are
searched recursively; in each directory its report files are read, else its traces.

Exit codes:
  0   ok
  1   compare: a stage regressed past a threshold
  2   usage error (unknown command or option, missing argument, bad threshold)
  3   no valid input (missing, empty, truncated or malformed files; no session found)
  4   --strict: some input files or lines were bad (the output was still written)
  5   the output could not be written
  70  internal error (a bug; VOICETRACE_DEBUG=1 prints the stack)
`;

const COMMON_INPUT_OPTIONS = `  --max-file-bytes <n>   largest report.json read (default 256M)
  --max-line-bytes <n>   longest traces line read; longer lines are skipped (default 64M)
  --strict               exit 4 when any input file or line was bad
  -h, --help             this help`;

const HELP: Record<string, string> = {
  report: `voicetrace report: the offline HTML page of a session

Usage:
  voicetrace report <report.json | traces.jsonl | dir> [-o <file.html>]

The input is a session report (report.json), OTLP/JSON lines traces written by voicetrace, or
a directory holding one of them (voicetrace-out/<session id>/). The page is written beside the
input as report.html unless -o says where; a traces file with several sessions gives one page
per session (report-<session id>.html) unless --session picks one. The page makes no network
request: it opens offline, and links its recording (relative when it sits beside the page).

Options:
  -o, --output <file>    where to write the page (default: beside the input, report.html)
  --session <id>         the session to render, when the traces hold several
  --recording <path|url> the call's recording, when the report does not point at it
  --link <name=template> a trace link for reports built from traces, e.g.
                         --link jaeger=http://localhost:16686/trace/{trace_id} (repeatable)
${COMMON_INPUT_OPTIONS}

Exit codes: 0 written, 2 usage error, 3 no valid session in the input, 4 (--strict) bad lines
were skipped, 5 the page could not be written.
`,
  summarize: `voicetrace summarize: latency, wait, cost and interruptions over many sessions

Usage:
  voicetrace summarize <dir | file>... [--json] [-o <file>] [--top N]

Finds every session under the paths (report.json files; traces *.jsonl where a directory has
no report) and prints: p50/p95/p99/max/mean per latency stage (over every reply) and per wait
contribution (with its share of all e2e wait), cost in total, per session and per model,
the interruption rate, and the slowest replies with their trace ids. A bad file is reported
and counted; the others are still summarized. Percentiles interpolate linearly between the
closest ranks (as numpy's default and the session report itself).

Options:
  --json                 machine-readable output (the SessionSetSummary type)
  -o, --output <file>    write the output to a file instead of stdout
  --top <n>              how many slowest replies to list (default 10)
  --link <name=template> trace links for sessions read from traces (repeatable)
${COMMON_INPUT_OPTIONS}

A progress bar is drawn on stderr when it is a terminal.

Exit codes: 0 ok, 2 usage error, 3 no valid session found, 4 (--strict) some inputs were bad,
5 the output could not be written.
`,
  compare: `voicetrace compare: two sets of sessions side by side, failing on regressions

Usage:
  voicetrace compare <baseline> <candidate> [--max-regression <limit>]... [--json]
  voicetrace compare --baseline <path>... --candidate <path>... [options]

Each side is a directory or a file (or several, with repeated --baseline / --candidate);
sessions are found as by summarize. Every latency stage, wait contribution and the cost per
session is shown at p50, p95 and p99 in both sets, with the change; each quality signal by its
rate per 100 user turns.

Thresholds (--max-regression, repeatable or comma-separated): how much a figure may grow.
  p95=15%                  every latency stage's p95 may grow by at most 15%
  llm_ttft.p95=20%         one stage (overrides the general limit for it)
  e2e.p50=+100ms           an absolute limit (ms, s, or a bare number of seconds)
  wait.playout_start.p95=+50ms    a wait contribution
  cost.mean=10%, cost.p95=+$0.01  the cost of a session
  signal.dead_air.rate=+1  a quality signal: at most 1 more per 100 user turns (or a %)
${wrap(`Quantiles: ${QUANTILES.join(', ')} (rate: signals only). Stages: ${[...LATENCY_STAGE_NAMES, 'wait.<contribution>', 'cost', 'signal.<signal>'].join(', ')}.`, 90)}
A stage that has data in the baseline but none in the candidate fails its check.
A percentage limit on a latency figure fails only when the figure also grew by more than
--min-change (default 5ms): a 1 ms stage moving by 1 ms is noise, not a regression.

Options:
  --max-regression <limit>  a threshold (see above)
  --min-change <duration>   the noise floor of percentage limits (default 5ms; 0 to turn it off)
  --baseline <path>      add a baseline file or directory
  --candidate <path>     add a candidate file or directory
  --json                 machine-readable output (the Comparison type)
  -o, --output <file>    write the output to a file instead of stdout
${COMMON_INPUT_OPTIONS}

Exit codes: 0 no regression past a threshold, 1 regression, 2 usage error (also an unknown
stage in a threshold), 3 a side has no valid session, 4 (--strict) some inputs were bad
(wins over 1: a comparison of bad inputs proves nothing), 5 the output could not be written.
`,
};

class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

class WriteError extends Error {}

interface Ctx {
  out: CliStream;
  err: CliStream;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * Runs the `voicetrace` CLI on `argv` (without the node and script paths) and resolves to its exit
 * code; never throws, never exits the process. Streams, working directory and environment are
 * injectable, so tests (and other tools) can drive it in process:
 *
 *   const code = await runCli(['compare', 'base/', 'cand/', '--max-regression', 'p95=15%'], { stdout, stderr });
 */
export async function runCli(argv: readonly string[], io: CliIo = {}): Promise<number> {
  const ctx: Ctx = { out: io.stdout ?? process.stdout, err: io.stderr ?? process.stderr, cwd: io.cwd ?? process.cwd(), env: io.env ?? process.env };
  const [command, ...rest] = argv;
  try {
    if (command === undefined) {
      ctx.err.write(GLOBAL_HELP);
      return EXIT.USAGE;
    }
    if (command === '-h' || command === '--help') {
      ctx.out.write(GLOBAL_HELP);
      return EXIT.OK;
    }
    if (command === 'help') {
      const topic = rest[0];
      ctx.out.write(topic && HELP[topic] ? HELP[topic] : GLOBAL_HELP);
      return topic && !HELP[topic] ? EXIT.USAGE : EXIT.OK;
    }
    if (command === '--version' || command === '-V') {
      ctx.out.write(`${REPORT_GENERATOR}\n`);
      return EXIT.OK;
    }
    switch (command) {
      case 'report':
        return await reportCommand(rest, ctx);
      case 'summarize':
      case 'summary':
        return await summarizeCommand(rest, ctx);
      case 'compare':
        return await compareCommand(rest, ctx);
      default:
        throw new UsageError(`unknown command "${command}" (commands: report, summarize, compare)`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      ctx.err.write(`voicetrace${error.command ? ` ${error.command}` : ''}: ${error.message}\nSee: voicetrace ${error.command ? `${error.command} ` : ''}--help\n`);
      return EXIT.USAGE;
    }
    if (error instanceof WriteError) {
      ctx.err.write(`voicetrace: ${error.message}\n`);
      return EXIT.WRITE_FAILED;
    }
    const e = error as Error;
    ctx.err.write(`voicetrace: internal error: ${e?.message ?? String(error)}\nThis is a bug in voicetrace; please report it${ctx.env.VOICETRACE_DEBUG ? '' : ' (VOICETRACE_DEBUG=1 prints the stack)'}.\n`);
    if (ctx.env.VOICETRACE_DEBUG && e?.stack) ctx.err.write(`${e.stack}\n`);
    return EXIT.INTERNAL;
  }
}

// ---- report ---------------------------------------------------------------------------------

async function reportCommand(args: string[], ctx: Ctx): Promise<number> {
  const { values, positionals } = parse('report', args, {
    output: { type: 'string', short: 'o' },
    session: { type: 'string' },
    recording: { type: 'string' },
    link: { type: 'string', multiple: true },
    ...INPUT_OPTIONS,
  });
  if (values.help) return help('report', ctx);
  if (positionals.length !== 1) throw new UsageError(positionals.length ? `one input expected, got ${positionals.length}` : 'which report.json or traces file?', 'report');
  const limits = readLimits(values, 'report');
  const given = positionals[0]!;
  const path = await resolveReportInput(resolve(ctx.cwd, given), ctx, given);
  if (!path) return EXIT.NO_INPUT;
  const loaded = await loadFile({ path, kind: await sniffKind(path) }, limits);
  printProblems(loaded.problems, ctx);
  let sessions = loaded.sessions;
  if (!sessions.length) {
    ctx.err.write(`voicetrace report: no valid session in ${given}\n`);
    return EXIT.NO_INPUT;
  }
  if (typeof values.session === 'string') {
    sessions = sessions.filter((s) => s.voicetrace.session_id === values.session);
    if (!sessions.length) {
      ctx.err.write(`voicetrace report: no session ${values.session} in ${given} (found: ${loaded.sessions.map((s) => s.voicetrace.session_id).join(', ')})\n`);
      return EXIT.NO_INPUT;
    }
  }
  const inputDir = dirname(path);
  const output = typeof values.output === 'string' ? resolve(ctx.cwd, values.output) : undefined;
  for (const session of sessions) {
    const name = sessions.length > 1 ? `report-${fileSafe(session.voicetrace.session_id)}.html` : 'report.html';
    const target = output ? (sessions.length > 1 ? withSuffix(output, `-${fileSafe(session.voicetrace.session_id)}`) : output) : join(inputDir, name);
    const { report, recordingSrc } = await placeRecording(placeClips(session, inputDir), inputDir, typeof values.recording === 'string' ? values.recording : undefined, ctx);
    const html = renderReportHtml(report, { htmlPath: target, recordingSrc });
    await write(target, html);
    ctx.out.write(`${target}\n`);
  }
  return values.strict && loaded.problems.length ? EXIT.BAD_INPUT : EXIT.OK;
}

/** A file as is; in a directory, its report (report.json, *.report.json), else its traces. */
async function resolveReportInput(path: string, ctx: Ctx, given: string): Promise<string | undefined> {
  let info;
  try {
    info = await stat(path);
  } catch {
    ctx.err.write(`voicetrace report: ${given}: no such file or directory\n`);
    return undefined;
  }
  if (info.isFile()) return path;
  if (!info.isDirectory()) {
    ctx.err.write(`voicetrace report: ${given}: not a file or directory\n`);
    return undefined;
  }
  const names = (await readdir(path)).sort();
  const found = names.find(isReportName) ?? names.find(isTracesName);
  if (!found) {
    ctx.err.write(`voicetrace report: ${given}: no report.json or traces (*.jsonl) in this directory\n`);
    return undefined;
  }
  return join(path, found);
}

/** The recording the page should play: --recording, the report's own (relative to the report), or its upload. */
async function placeRecording(report: SessionReportJson, inputDir: string, override: string | undefined, ctx: Ctx): Promise<{ report: SessionReportJson; recordingSrc?: string }> {
  const v = report.voicetrace;
  const withPath = (path: string): SessionReportJson => ({ ...report, voicetrace: { ...v, recording: { ...(v.recording ?? { uploads: [] }), path } } });
  if (override !== undefined) {
    if (/^(https?|file):/i.test(override)) return { report, recordingSrc: override };
    const path = resolve(ctx.cwd, override);
    if (!(await exists(path))) ctx.err.write(`voicetrace report: warning: recording ${override} not found; the player will not load it\n`);
    return { report: withPath(path) };
  }
  const local = v.recording?.path ?? report.audio_recording_path ?? undefined;
  if (!local || /^[a-z][a-z0-9+.-]*:\/\//i.test(local)) return { report };
  const path = isAbsolute(local) ? local : resolve(inputDir, local);
  if (await exists(path)) return { report: withPath(path) };
  const uploaded = (v.recording?.uploads ?? []).find((u) => u.what === 'recording' && u.status === 'uploaded' && u.url && /^https?:/i.test(u.url));
  if (uploaded?.url) return { report: { ...report, audio_recording_path: null, voicetrace: { ...v, recording: { ...v.recording!, path: undefined } } }, recordingSrc: uploaded.url };
  ctx.err.write(`voicetrace report: warning: the recording ${local} is not on this machine; the page links it anyway\n`);
  return { report: withPath(path) };
}

/** Clip paths are relative to the report, the page may go elsewhere (-o): made absolute, the page relativizes them beside it. */
function placeClips(report: SessionReportJson, inputDir: string): SessionReportJson {
  const place = <T extends { clip?: ReportClip }>(x: T): T => {
    const path = x.clip?.path;
    return path && !isAbsolute(path) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(path) ? { ...x, clip: { ...x.clip!, path: resolve(inputDir, path) } } : x;
  };
  const v = report.voicetrace;
  if (!v.turns.some((t) => t.user?.clip || t.replies.some((r) => r.clip))) return report;
  return { ...report, voicetrace: { ...v, turns: v.turns.map((t) => ({ ...t, ...(t.user ? { user: place(t.user) } : {}), replies: t.replies.map(place) })) } };
}

// ---- summarize ------------------------------------------------------------------------------

async function summarizeCommand(args: string[], ctx: Ctx): Promise<number> {
  const { values, positionals } = parse('summarize', args, {
    json: { type: 'boolean' },
    output: { type: 'string', short: 'o' },
    top: { type: 'string' },
    link: { type: 'string', multiple: true },
    ...INPUT_OPTIONS,
  });
  if (values.help) return help('summarize', ctx);
  if (!positionals.length) throw new UsageError('which directories or files? e.g. voicetrace summarize voicetrace-out/', 'summarize');
  const top = values.top === undefined ? 10 : integer(values.top as string, '--top', 'summarize');
  const summary = await summarizeSet(positionals, 'summarize', ctx, { ...readLimits(values, 'summarize'), top });
  if (!summary.sessions) {
    printProblems(summary.problems, ctx);
    ctx.err.write(`voicetrace summarize: no valid session found in ${positionals.join(', ')}\n`);
    return EXIT.NO_INPUT;
  }
  if (values.json) {
    await emit(JSON.stringify(summary, null, 2) + '\n', values.output, ctx);
    if (summary.problems.length) ctx.err.write(`voicetrace summarize: ${summary.problems.length} problem(s) with the inputs (listed under "problems")\n`);
  } else {
    await emit(renderSummary(summary), values.output, ctx);
  }
  return values.strict && summary.problems.length ? EXIT.BAD_INPUT : EXIT.OK;
}

async function summarizeSet(paths: readonly string[], label: string, ctx: Ctx, options: ReadLimits & { top?: number }): Promise<SessionSetSummary> {
  const bar = new ProgressBar(ctx.err, label);
  try {
    return await summarizePaths(paths, { ...options, cwd: ctx.cwd, onProgress: (done, total, bad) => bar.update(done, total, bad) });
  } finally {
    bar.end();
  }
}

// ---- compare --------------------------------------------------------------------------------

async function compareCommand(args: string[], ctx: Ctx): Promise<number> {
  const { values, positionals } = parse('compare', args, {
    baseline: { type: 'string', multiple: true },
    candidate: { type: 'string', multiple: true },
    'max-regression': { type: 'string', multiple: true },
    'min-change': { type: 'string' },
    json: { type: 'boolean' },
    output: { type: 'string', short: 'o' },
    ...INPUT_OPTIONS,
  });
  if (values.help) return help('compare', ctx);
  const baseline = [...((values.baseline as string[] | undefined) ?? [])];
  const candidate = [...((values.candidate as string[] | undefined) ?? [])];
  if (positionals.length === 2) {
    baseline.unshift(positionals[0]!);
    candidate.unshift(positionals[1]!);
  } else if (positionals.length) throw new UsageError(`expected <baseline> <candidate>, got ${positionals.length} path(s); use --baseline/--candidate for sets`, 'compare');
  if (!baseline.length || !candidate.length) throw new UsageError('both a baseline and a candidate are needed', 'compare');
  let thresholds;
  try {
    thresholds = parseThresholds((values['max-regression'] as string[] | undefined) ?? []);
  } catch (error) {
    if (error instanceof ThresholdError) throw new UsageError(`--max-regression ${error.message}`, 'compare');
    throw error;
  }
  const minChange = values['min-change'] === undefined ? undefined : parseDuration(String(values['min-change']));
  if (minChange === null) throw new UsageError(`--min-change takes a duration (5ms, 0.01s), not "${String(values['min-change'])}"`, 'compare');
  const limits = readLimits(values, 'compare');
  const base = await summarizeSet(baseline, 'baseline', ctx, { ...limits, top: 0 });
  const cand = await summarizeSet(candidate, 'candidate', ctx, { ...limits, top: 0 });
  printProblems([...base.problems, ...cand.problems], ctx);
  for (const [side, s, paths] of [['baseline', base, baseline], ['candidate', cand, candidate]] as const) {
    if (!s.sessions) {
      ctx.err.write(`voicetrace compare: no valid session in the ${side} (${paths.join(', ')})\n`);
      return EXIT.NO_INPUT;
    }
  }
  let comparison;
  try {
    comparison = compareSummaries(base, cand, thresholds, { minChangeSeconds: minChange });
  } catch (error) {
    if (error instanceof ThresholdError) throw new UsageError(`--max-regression ${error.message}`, 'compare');
    throw error;
  }
  const text = values.json ? JSON.stringify(comparison, null, 2) + '\n' : renderComparison(comparison, { baseline: baseline.join(', '), candidate: candidate.join(', ') });
  await emit(text, values.output, ctx);
  if (values.strict && (base.problems.length || cand.problems.length)) return EXIT.BAD_INPUT;
  return comparison.failed ? EXIT.REGRESSION : EXIT.OK;
}

// ---- helpers --------------------------------------------------------------------------------

const INPUT_OPTIONS = {
  'max-file-bytes': { type: 'string' },
  'max-line-bytes': { type: 'string' },
  strict: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

function parse(command: string, args: string[], options: NonNullable<ParseArgsConfig['options']>): { values: Record<string, string | boolean | string[] | boolean[] | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: values as Record<string, string | boolean | string[] | undefined>, positionals };
  } catch (error) {
    // node's messages are clear ("Unknown option '--jsn'"); drop its hint about '--' for a typo
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument starting with a '-'.*$/s, ''), command);
  }
}

function help(command: string, ctx: Ctx): number {
  ctx.out.write(HELP[command]!);
  return EXIT.OK;
}

function readLimits(values: Record<string, unknown>, command: string): ReadLimits {
  const limits: ReadLimits = {};
  if (values['max-file-bytes'] !== undefined) limits.maxFileBytes = bytes(values['max-file-bytes'] as string, '--max-file-bytes', command);
  if (values['max-line-bytes'] !== undefined) limits.maxLineBytes = bytes(values['max-line-bytes'] as string, '--max-line-bytes', command);
  const links = values.link as string[] | undefined;
  if (links?.length) {
    const templates: Record<string, string> = {};
    for (const link of links) {
      const eq = link.indexOf('=');
      if (eq <= 0 || eq === link.length - 1) throw new UsageError(`--link "${link}": expected name=template, e.g. jaeger=http://localhost:16686/trace/{trace_id}`, command);
      templates[link.slice(0, eq)] = link.slice(eq + 1);
    }
    limits.linkTemplates = templates;
  }
  return limits;
}

function bytes(text: string, option: string, command: string): number {
  const m = /^(\d+)\s*(k|m|g|kb|mb|gb|kib|mib|gib)?$/i.exec(text.trim());
  const n = m ? Number(m[1]) * ({ k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }[(m[2] ?? '').charAt(0).toLowerCase() as 'k' | 'm' | 'g'] ?? 1) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${option} "${text}": expected a size in bytes (e.g. 1048576, 512K, 64M)`, command);
  return n;
}

function integer(text: string, option: string, command: string): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${option} "${text}": expected a whole number`, command);
  return Number(text);
}

async function emit(text: string, output: unknown, ctx: Ctx): Promise<void> {
  if (typeof output === 'string') {
    const target = resolve(ctx.cwd, output);
    await write(target, text);
    ctx.err.write(`wrote ${target}\n`);
  } else ctx.out.write(text);
}

async function write(path: string, content: string): Promise<void> {
  try {
    await writeFileAtomic(path, content, { timeoutMs: 60_000 });
  } catch (error) {
    throw new WriteError(`cannot write ${path}: ${(error as Error).message.replace(/^could not write \S+: /, '')}`);
  }
}

function printProblems(problems: InputProblem[], ctx: Ctx, limit = 20): void {
  for (const p of problems.slice(0, limit)) ctx.err.write(`voicetrace: ${problemText(p)}\n`);
  if (problems.length > limit) ctx.err.write(`voicetrace: ... and ${problems.length - limit} more problems\n`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function fileSafe(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);
}

function withSuffix(path: string, suffix: string): string {
  const ext = extname(path);
  return join(dirname(path), `${basename(path, ext)}${suffix}${ext || '.html'}`);
}

/** Seconds from `5ms`, `0.01s` or a bare number of seconds; null when it is none of them. */
function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*(ms|s)?$/.exec(text.trim());
  if (!m) return null;
  return m[2] === 'ms' ? Number(m[1]) / 1000 : Number(m[1]);
}
