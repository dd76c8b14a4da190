/** The bench's knobs, from `BENCH_*` variables (packages/bench/README.md lists them). */
export interface BenchConfig {
  /** Calls measured per round of the CPU rows, and the turns of each. */
  sessions: number;
  turns: number;
  /** Calls traced at once in the CPU rows (their turns interleaved). */
  concurrency: number;
  /** Rounds of the CPU rows (each: a fresh process per path, order alternated); the median is reported. */
  rounds: number;
  /** Concurrent sessions of the event-loop row, and how long it measures (seconds). */
  loopSessions: number;
  loopSeconds: number;
  /** Spans pushed per exporter in the throughput row. */
  throughputSpans: number;
  /** Live calls of the memory-per-session row. */
  memorySessions: number;
  /** Turns of the long call (trace-per-turn mode) of the memory series. */
  longTurns: number;
  /** Concurrent sessions of the memory budget row, and the budget (MiB of heap voicetrace adds). */
  budgetSessions: number;
  budgetMiB: number;
  /** Real AgentSessions per variant (at once) and rounds of the whole-agent row; 0 sessions skips it. */
  agentSessions: number;
  agentRounds: number;
  agentTurns: number;
  /** Seconds the Collector's capacity is pushed; 0 skips it. */
  collectorSeconds: number;
  /** Write CPU profiles of the CPU rows and print their top entries. */
  profile: boolean;
  /** Rows to run (comma-separated: cpu, loop, throughput, memory, agent, collector); all by default. */
  only: Set<string> | undefined;
  /** Where to write this run's results as JSON (for packages/bench/dist/results.js). */
  json: string | undefined;
}

const num = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, not ${raw}`);
  return value;
};

export function readConfig(): BenchConfig {
  const only = process.env.BENCH_ONLY?.trim();
  return {
    sessions: num('BENCH_SESSIONS', 200),
    turns: num('BENCH_TURNS', 12),
    concurrency: num('BENCH_CONCURRENCY', 10),
    rounds: num('BENCH_ROUNDS', 5),
    loopSessions: num('BENCH_LOOP_SESSIONS', 100),
    loopSeconds: num('BENCH_LOOP_SECONDS', 15),
    throughputSpans: num('BENCH_THROUGHPUT_SPANS', 40_000),
    memorySessions: num('BENCH_MEMORY_SESSIONS', 200),
    longTurns: num('BENCH_LONG_TURNS', 10_000),
    budgetSessions: num('BENCH_BUDGET_SESSIONS', 1000),
    budgetMiB: num('BENCH_BUDGET_MIB', 128),
    agentSessions: num('BENCH_AGENT_SESSIONS', 4),
    agentRounds: num('BENCH_AGENT_ROUNDS', 2),
    agentTurns: num('BENCH_AGENT_TURNS', 6),
    collectorSeconds: num('BENCH_COLLECTOR_SECONDS', 10),
    profile: process.env.BENCH_PROFILE === '1',
    only: only ? new Set(only.split(',').map((s) => s.trim())) : undefined,
    json: process.env.BENCH_JSON || undefined,
  };
}
