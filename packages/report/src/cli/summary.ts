import { LATENCY_STAGES, SIGNAL_NAMES, WAIT_CONTRIBUTIONS } from '@voicetrace/conventions';
import { percentiles } from '../stats.js';
import type { Percentiles, SessionReportJson } from '../types.js';
import { findInputs, loadFile, type InputFile, type InputProblem, type ReadLimits } from './inputs.js';

/** Percentiles of one figure over a set of sessions, plus its mean. */
export interface StageStats extends Percentiles {
  mean?: number;
}

/** A wait contribution's statistics, and its share of all the e2e wait in the set. */
export interface WaitStats extends StageStats {
  /** Sum of this contribution over the sum of e2e of the replies that have a breakdown (0..1). */
  share?: number;
}

/** A reply among the slowest (by e2e), with where to find it. */
export interface SlowTurn {
  e2e: number;
  session_id: string;
  turn_index: number;
  speech_id: string;
  agent?: string;
  trace_id?: string;
  span_id?: string;
  /** Trace links of the session, with the turn's trace id when traces are per turn. */
  links?: Record<string, string>;
  file: string;
}

/** One quality signal over a set of sessions. */
export interface SignalStats {
  count: number;
  /** count per 100 user turns (null without user turns). */
  per_100_turns: number | null;
  sessions_with: number;
  /** Seconds summed, for signals with a size. */
  seconds?: number;
}

/** Cost and requests per provider/model over the set. */
export interface ModelCost {
  type: string;
  provider: string;
  model: string;
  cost: number;
  requests: number;
  sessions: number;
}

/** What `voicetrace summarize` computes over a set of sessions (its `--json` output). */
export interface SessionSetSummary {
  sessions: number;
  user_turns: number;
  replies: number;
  /** Turns left out of reports on long calls (their figures are not in the per-turn statistics). */
  turns_dropped: number;
  inputs: {
    files: number;
    report_files: number;
    traces_files: number;
    /** Files that gave no session (missing, empty, malformed, not voicetrace). */
    bad_files: number;
    /** Sessions seen again (same session id) and skipped; a report wins over traces. */
    duplicate_sessions: number;
    problems: number;
  };
  /** Per stage of `voicetrace.latency` (e2e, llm_ttft, ...): over every reply of every session. */
  latency: Record<string, StageStats>;
  /** Per wait contribution (llm_ttft, tts_ttfb, playout_start, ...). */
  wait: Record<string, WaitStats>;
  cost: {
    /** Estimated total, USD. */
    total: number;
    /** Distribution of the cost of one session. */
    per_session: StageStats;
    per_model: ModelCost[];
  };
  interruptions: {
    /** Replies the user interrupted. */
    count: number;
    replies: number;
    /** count / replies (null without replies). */
    rate: number | null;
    sessions_with: number;
  };
  /**
   * Conversation quality signals over the set (SIGNALS in @voicetrace/conventions): how many times
   * each fired, per 100 user turns, in how many sessions, and its seconds (dead air, talk-over).
   */
  signals: Record<string, SignalStats>;
  /** The slowest replies by e2e, slowest first. */
  slowest: SlowTurn[];
  problems: InputProblem[];
}

/** Adds sessions one at a time; keeps only the figures it needs (10,000 sessions fit easily). */
export class SessionAggregator {
  private readonly latency = new Map<string, number[]>();
  private readonly wait = new Map<string, number[]>();
  private readonly sessionCost: number[] = [];
  private readonly models = new Map<string, ModelCost>();
  private readonly seen = new Set<string>();
  private readonly slow: SlowTurn[] = [];
  private e2eWithBreakdown = 0;
  private sessions = 0;
  private userTurns = 0;
  private replies = 0;
  private turnsDropped = 0;
  private interrupted = 0;
  private sessionsWithInterruptions = 0;
  private readonly signals = new Map<string, { count: number; sessions: number; seconds?: number }>();
  /** The first session: a set of one reads its statistics from the model (all its turns, not only the retained ones). */
  private first: SessionReportJson['voicetrace'] | undefined;
  duplicates = 0;

  constructor(private readonly top = 10) {}

  /** Adds a session; false (and counted) when its session id was already added. */
  add(report: SessionReportJson, file: string): boolean {
    const v = report.voicetrace;
    if (this.seen.has(v.session_id)) {
      this.duplicates++;
      return false;
    }
    this.seen.add(v.session_id);
    this.sessions++;
    this.first ??= v;
    this.userTurns += v.user_turns;
    this.replies += v.replies;
    this.turnsDropped += v.turns_dropped;
    this.interrupted += v.interruptions;
    if (v.interruptions > 0) this.sessionsWithInterruptions++;
    // the session's totals as the model counted them (every turn, retained or not)
    for (const [name, totals] of Object.entries(v.signals ?? {})) {
      if (!totals || !(totals.count > 0)) continue;
      const entry = this.signals.get(name) ?? { count: 0, sessions: 0 };
      entry.count += totals.count;
      entry.sessions += 1;
      if (typeof totals.seconds === 'number') entry.seconds = (entry.seconds ?? 0) + totals.seconds;
      this.signals.set(name, entry);
    }
    this.sessionCost.push(v.cost);
    for (const u of v.usage) {
      const key = `${u.type}\u0000${u.provider}\u0000${u.model}`;
      let m = this.models.get(key);
      if (!m) this.models.set(key, (m = { type: u.type, provider: u.provider, model: u.model, cost: 0, requests: 0, sessions: 0 }));
      m.cost += typeof u.cost === 'number' ? u.cost : 0;
      m.requests += typeof u.requests === 'number' ? u.requests : 0;
      m.sessions++;
    }
    const sessionTrace = v.trace.trace_id;
    for (const turn of v.turns) {
      for (const reply of turn.replies) {
        for (const [key, value] of Object.entries(reply.latency ?? {})) if (typeof value === 'number') push(this.latency, key, value);
        if (reply.wait.length) {
          const perKey = new Map<string, number>();
          for (const slice of reply.wait) perKey.set(slice.key, (perKey.get(slice.key) ?? 0) + slice.seconds);
          for (const [key, seconds] of perKey) push(this.wait, key, seconds);
          this.e2eWithBreakdown += reply.latency?.e2e ?? reply.wait.reduce((n, s) => n + s.seconds, 0);
        }
        const e2e = reply.latency?.e2e;
        if (e2e !== undefined && this.top > 0 && (this.slow.length < this.top || e2e > this.slow[this.slow.length - 1]!.e2e)) {
          const links: Record<string, string> = {};
          for (const [name, href] of Object.entries(v.trace.links)) {
            links[name] = sessionTrace && reply.trace && reply.trace.trace_id !== sessionTrace ? href.split(sessionTrace).join(reply.trace.trace_id) : href;
          }
          insertSorted(this.slow, {
            e2e,
            session_id: v.session_id,
            turn_index: turn.index,
            speech_id: reply.speech_id,
            ...(reply.agent !== undefined ? { agent: reply.agent } : {}),
            ...(reply.trace ? { trace_id: reply.trace.trace_id, span_id: reply.trace.span_id } : {}),
            ...(Object.keys(links).length ? { links } : {}),
            file,
          }, this.top);
        }
      }
    }
    return true;
  }

  summary(inputs: Omit<SessionSetSummary['inputs'], 'duplicate_sessions' | 'problems'>, problems: InputProblem[]): SessionSetSummary {
    // one session: its percentiles as the session model computed them over every reply (the live
    // session span's), not recomputed from the turns a long call's report retains
    const model = this.sessions === 1 ? this.first : undefined;
    const fromModel = (figures: Record<string, Percentiles> | undefined, key: string): Partial<StageStats> =>
      (figures?.[key]?.count ? figures[key] : {});
    const latency: Record<string, StageStats> = {};
    for (const key of orderedKeys([...this.latency.keys()], LATENCY_ORDER)) latency[key] = { ...stats(this.latency.get(key)!), ...fromModel(model?.latency, key) };
    const wait: Record<string, WaitStats> = {};
    for (const key of orderedKeys([...this.wait.keys()], WAIT_ORDER)) {
      const values = this.wait.get(key)!;
      const total = values.reduce((a, b) => a + b, 0);
      wait[key] = { ...stats(values), ...fromModel(model?.wait as Record<string, Percentiles> | undefined, key), ...(this.e2eWithBreakdown > 0 ? { share: total / this.e2eWithBreakdown } : {}) };
    }
    return {
      sessions: this.sessions,
      user_turns: this.userTurns,
      replies: this.replies,
      turns_dropped: this.turnsDropped,
      inputs: { ...inputs, duplicate_sessions: this.duplicates, problems: problems.length },
      latency,
      wait,
      cost: {
        total: this.sessionCost.reduce((a, b) => a + b, 0),
        per_session: stats(this.sessionCost),
        per_model: [...this.models.values()].sort((a, b) => b.cost - a.cost || a.provider.localeCompare(b.provider)),
      },
      interruptions: {
        count: this.interrupted,
        replies: this.replies,
        rate: this.replies ? this.interrupted / this.replies : null,
        sessions_with: this.sessionsWithInterruptions,
      },
      signals: Object.fromEntries(
        SIGNAL_NAMES.filter((name) => this.signals.has(name)).map((name) => {
          const e = this.signals.get(name)!;
          return [name, { count: e.count, per_100_turns: this.userTurns ? (100 * e.count) / this.userTurns : null, sessions_with: e.sessions, ...(e.seconds !== undefined ? { seconds: e.seconds } : {}) }];
        }),
      ),
      slowest: [...this.slow],
      problems,
    };
  }
}

/** Progress of a summary: files done so far, of how many. */
export type ProgressListener = (done: number, total: number, bad: number) => void;

export interface SummarizeOptions extends ReadLimits {
  /** How many slowest replies to list (default 10). */
  top?: number | undefined;
  /** Base for relative paths (default the process's working directory). */
  cwd?: string | undefined;
  onProgress?: ProgressListener | undefined;
}

/**
 * Finds every session under `paths` (see `findInputs`), reads each file (one bad file is a
 * problem, the others are still read) and summarizes them. Reports are read before traces, so a
 * session present in both counts once, from its report.
 */
export async function summarizePaths(paths: readonly string[], options: SummarizeOptions = {}): Promise<SessionSetSummary> {
  const { files, problems } = await findInputs(paths, options.cwd);
  const ordered = [...files.filter((f) => f.kind === 'report'), ...files.filter((f) => f.kind === 'traces')];
  const aggregator = new SessionAggregator(options.top ?? 10);
  let bad = problems.length;
  let done = 0;
  options.onProgress?.(0, ordered.length, bad);
  // read ahead a few files while the current one is parsed: the disk and the parser overlap
  const window = 4;
  const pending: Array<Promise<Awaited<ReturnType<typeof loadFile>>>> = [];
  let next = 0;
  const fill = () => {
    while (pending.length < window && next < ordered.length) pending.push(loadFile(ordered[next++] as InputFile, options));
  };
  fill();
  while (pending.length) {
    const loaded = await pending.shift()!;
    fill();
    problems.push(...loaded.problems);
    if (!loaded.sessions.length) bad++;
    for (const session of loaded.sessions) aggregator.add(session, loaded.file.path);
    done++;
    options.onProgress?.(done, ordered.length, bad);
  }
  return aggregator.summary(
    {
      files: ordered.length,
      report_files: ordered.filter((f) => f.kind === 'report').length,
      traces_files: ordered.filter((f) => f.kind === 'traces').length,
      bad_files: bad,
    },
    problems,
  );
}

/** The latency figures in pipeline order, as the conventions define them. */
const LATENCY_ORDER: string[] = LATENCY_STAGES.map((s) => s.key);
/** The wait slices in the order they happen, as the conventions define them. */
const WAIT_ORDER: string[] = WAIT_CONTRIBUTIONS.map((c) => c.key);

function orderedKeys(keys: string[], order: string[]): string[] {
  return keys.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b));
}

function stats(values: number[]): StageStats {
  const p = percentiles(values);
  return p.count ? { ...p, mean: values.reduce((a, b) => a + b, 0) / values.length } : p;
}

function push(map: Map<string, number[]>, key: string, value: number): void {
  if (!Number.isFinite(value)) return;
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  list.push(value);
}

function insertSorted(list: SlowTurn[], item: SlowTurn, top: number): void {
  let i = list.length;
  while (i > 0 && list[i - 1]!.e2e < item.e2e) i--;
  list.splice(i, 0, item);
  if (list.length > top) list.length = top;
}
