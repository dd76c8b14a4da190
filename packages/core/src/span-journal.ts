import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type HrTime, type SpanContext } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

type Resource = ReadableSpan['resource'];
import { ATTR } from '@voicetrace/conventions';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { toHrTime } from './time.js';

/** One line of a journal: a span started (with what it will be exported as) or ended. */
type JournalLine =
  | { op: 'start'; traceId: string; spanId: string; parentSpanId?: string | undefined; name: string; start: HrTime; scope: string; attributes: Attributes }
  | { op: 'end'; spanId: string };

/**
 * A write-ahead record of the call's long-lived spans (session, turns, the
 * job's entrypoint) in a file of its own process. A process killed outright
 * (SIGKILL, the OOM killer) can end nothing; its journal lets another
 * voicetrace process export what was still open, force-ended and flagged, so
 * a killed call keeps its root and turns. Every span is journaled (a child
 * exported while its parent is lost would be an orphan). Lines are gathered
 * and appended with one synchronous write when the current task ends
 * (`setImmediate`), not one write per span: a span's lines reach the file
 * before anything asynchronous (an export) can happen after it, so a kill
 * never leaves an exported child whose parent the journal does not know. A
 * span that starts and ends before that write (voicetrace's stage spans, made
 * ended; a short SDK span) is never written at all. The file is removed on a
 * clean shutdown.
 */
export class SpanJournal {
  private fd: number | undefined;
  readonly path: string;
  /** Lines not written yet (written together when the current task ends): end lines, and starts still open. */
  private pending: Array<string | PendingStart> = [];
  /** Starts not written yet, by span id: a span that ends before the write is dropped from it. */
  private readonly unwritten = new Map<string, PendingStart>();
  private flushScheduled = false;
  private closed = false;

  constructor(readonly dir: string, pid = process.pid) {
    this.path = join(dir, `${pid}.jsonl`);
  }

  /**
   * A span started, under the trace and parent it will be exported with. Its line is made when it
   * is written (its attributes as they are then, the start's and any added since).
   */
  started(span: PendingStart): void {
    if (this.closed) return;
    this.unwritten.set(span.spanId, span);
    this.append(span);
  }

  ended(spanId: string): void {
    if (this.closed) return;
    const start = this.unwritten.get(spanId);
    if (start) {
      // started and ended before the write: neither line is needed
      this.unwritten.delete(spanId);
      start.skip = true;
      return;
    }
    this.append(`{"op":"end","spanId":${JSON.stringify(spanId)}}\n`);
  }

  /** Writes the lines gathered so far now (normally done when the current task ends). */
  flush(): void {
    this.flushScheduled = false;
    if (!this.pending.length || this.closed) return;
    let text = '';
    for (const entry of this.pending) if (typeof entry === 'string') text += entry;
    else if (!entry.skip) text += startLine(entry);
    this.pending = [];
    this.unwritten.clear();
    if (!text) return;
    try {
      if (this.fd === undefined) {
        mkdirSync(this.dir, { recursive: true });
        this.fd = openSync(this.path, 'a');
      }
      writeSync(this.fd, text);
    } catch {
      // a journal that cannot be written costs recovery, never the call
    }
  }

  /** The process ends cleanly: nothing to recover. Later lines are ignored. */
  close(): void {
    this.closed = true;
    this.pending = [];
    this.unwritten.clear();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.path, { force: true });
  }

  private append(line: string | PendingStart): void {
    this.pending.push(line);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }
}

/** A span's start, as the processor hands it to the journal (its line, less `op`), and whether it ended before it was written. */
type PendingStart = Omit<Extract<JournalLine, { op: 'start' }>, 'op'> & { skip?: boolean };

/** The JSON of a `start` line, built directly (the values go through JSON.stringify). */
function startLine(span: PendingStart): string {
  const parent = span.parentSpanId === undefined ? '' : `,"parentSpanId":${JSON.stringify(span.parentSpanId)}`;
  return (
    `{"op":"start","traceId":${JSON.stringify(span.traceId)},"spanId":${JSON.stringify(span.spanId)}${parent},"name":${JSON.stringify(span.name)},` +
    `"start":[${span.start[0]},${span.start[1]}],"scope":${JSON.stringify(span.scope)},"attributes":${JSON.stringify(span.attributes)}}\n`
  );
}

/** Options of {@link recoverJournals}. */
export interface RecoverOptions {
  /** Resource the recovered spans are exported with (the recovering process's). */
  resource: Resource;
  /** Receives the recovered spans (e.g. the processors that export). */
  export: (spans: ReadableSpan[]) => void;
  /** Whether the process with `pid` is still running (default: signal 0). */
  isAlive?: ((pid: number) => boolean) | undefined;
  /** When the recovered spans are ended (default now). */
  now?: (() => number) | undefined;
}

/**
 * Exports the spans left open by dead processes' journals in `dir`, ended now
 * and flagged `voicetrace.force_ended` + `voicetrace.recovered`, then removes
 * those journals. Journals of live processes are left alone. Never throws;
 * returns how many spans were recovered.
 */
export function recoverJournals(dir: string, options: RecoverOptions): number {
  const isAlive = options.isAlive ?? processIsAlive;
  let recovered = 0;
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => /^\d+\.jsonl$/.test(f));
  } catch {
    return 0;
  }
  for (const file of files) {
    const pid = Number(file.slice(0, -'.jsonl'.length));
    if (pid === process.pid || isAlive(pid)) continue;
    // claim it first, so two recovering processes never export the same spans
    const claimed = join(dir, `${file}.recovering-${process.pid}`);
    try {
      renameSync(join(dir, file), claimed);
    } catch {
      continue;
    }
    try {
      const spans = openSpans(readFileSync(claimed, 'utf8'), options.resource, toHrTime((options.now?.() ?? Date.now()) / 1000));
      if (spans.length) options.export(spans);
      recovered += spans.length;
    } catch {
      // a corrupt journal is dropped
    }
    rmSync(claimed, { force: true });
  }
  return recovered;
}

function openSpans(text: string, resource: Resource, end: HrTime): ReadableSpan[] {
  const open = new Map<string, Extract<JournalLine, { op: 'start' }>>();
  for (const raw of text.split('\n')) {
    if (!raw) continue;
    let line: JournalLine;
    try {
      line = JSON.parse(raw) as JournalLine;
    } catch {
      continue; // the last line of a killed writer may be cut
    }
    if (line.op === 'start') open.set(line.spanId, line);
    else open.delete(line.spanId);
  }
  return [...open.values()].map((line) => recoveredSpan(line, resource, end));
}

function recoveredSpan(line: Extract<JournalLine, { op: 'start' }>, resource: Resource, end: HrTime): ReadableSpan {
  const context: SpanContext = { traceId: line.traceId, spanId: line.spanId, traceFlags: TraceFlags.SAMPLED };
  const parent: SpanContext | undefined = line.parentSpanId ? { traceId: line.traceId, spanId: line.parentSpanId, traceFlags: TraceFlags.SAMPLED } : undefined;
  const endTime = compareHr(end, line.start) < 0 ? line.start : end;
  return {
    name: line.name,
    kind: SpanKind.INTERNAL,
    spanContext: () => context,
    parentSpanContext: parent,
    startTime: line.start,
    endTime: endTime,
    status: { code: SpanStatusCode.ERROR, message: 'the process ended before this span did (recovered from its journal)' },
    attributes: { ...line.attributes, [ATTR.FORCE_ENDED]: true, [ATTR.RECOVERED]: true },
    links: [],
    events: [],
    duration: subtractHr(endTime, line.start),
    ended: true,
    resource,
    instrumentationScope: { name: line.scope },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

function compareHr(a: HrTime, b: HrTime): number {
  return a[0] - b[0] || a[1] - b[1];
}

function subtractHr(a: HrTime, b: HrTime): HrTime {
  let seconds = a[0] - b[0];
  let nanos = a[1] - b[1];
  if (nanos < 0) {
    seconds -= 1;
    nanos += 1e9;
  }
  return [seconds, nanos];
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but is not ours
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
