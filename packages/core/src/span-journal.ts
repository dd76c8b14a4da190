import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type HrTime, type SpanContext } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

type Resource = ReadableSpan['resource'];
import { ATTR } from '@voicetrace/conventions';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { toHrTime } from './time.js';

/** One line of a journal: a span started (with what it will be exported as) or ended. */
type JournalLine =
  | { op: 'start'; traceId: string; spanId: string; parentSpanId?: string; name: string; start: HrTime; scope: string; attributes: Attributes }
  | { op: 'end'; spanId: string };

/**
 * A write-ahead record of the call's long-lived spans (session, turns, the
 * job's entrypoint) in a file of its own process. A process killed outright
 * (SIGKILL, the OOM killer) can end nothing; its journal lets another
 * voicetrace process export what was still open, force-ended and flagged, so
 * a killed call keeps its root and turns. Appends are synchronous and small
 * (a few per turn); the file is removed on a clean shutdown.
 */
export class SpanJournal {
  private fd: number | undefined;
  readonly path: string;

  constructor(readonly dir: string, pid = process.pid) {
    this.path = join(dir, `${pid}.jsonl`);
  }

  /** A span started, under the trace and parent it will be exported with. */
  started(span: { traceId: string; spanId: string; parentSpanId?: string | undefined; name: string; start: HrTime; scope: string; attributes: Attributes }): void {
    this.write({ op: 'start', ...span });
  }

  ended(spanId: string): void {
    this.write({ op: 'end', spanId });
  }

  /** The process ends cleanly: nothing to recover. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.path, { force: true });
  }

  private write(line: JournalLine): void {
    try {
      if (this.fd === undefined) {
        mkdirSync(this.dir, { recursive: true });
        this.fd = openSync(this.path, 'a');
      }
      writeSync(this.fd, `${JSON.stringify(line)}\n`);
    } catch {
      // a journal that cannot be written costs recovery, never the call
    }
  }
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
