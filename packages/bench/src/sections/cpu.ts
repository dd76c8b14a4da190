import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runChild } from '../child.js';
import type { BenchConfig } from '../config.js';
import type { PathName, PipelineOptions } from '../pipelines.js';
import { readProfile, summarizeProfile, type ProfileSummary } from '../profile.js';
import { ratioRow, type Row, type Section } from '../rows.js';
import type { Sink } from '../sink.js';
import { median } from '../stats.js';
import type { TurnsResult } from '../tasks/turns.js';

/** voicetrace's path with every optional feature off. */
const SPANS_ONLY: PipelineOptions['setup'] = { langfuseMapping: false, metrics: false, logs: false, journal: false };

interface Round {
  cpuUsPerTurn: number;
  cpuUsPerSpan: number;
  sdkSpansPerTurn: number;
  spansPerTurn: number;
  bytesPerTurn: number;
}

/** One measured child of the CPU rows: the sink's counters read at its start and end marks. */
async function measure(path: PathName, sink: Sink, config: BenchConfig, profile?: string, setup?: PipelineOptions['setup']): Promise<Round> {
  let before = sink.counts();
  let after = before;
  const r = await runChild<TurnsResult>(
    'turns',
    { path, endpoint: sink.url, sessions: config.sessions, turns: config.turns, concurrency: config.concurrency, warmupSessions: Math.max(20, Math.round(config.sessions / 5)), profile, setup },
    { onMark: (name) => void (name === 'start' ? (before = sink.counts()) : (after = sink.counts())) },
  );
  const spans = after.spans - before.spans;
  return {
    cpuUsPerTurn: r.cpuUs / r.turns,
    cpuUsPerSpan: r.cpuUs / spans,
    sdkSpansPerTurn: r.sdkSpans / r.turns,
    spansPerTurn: spans / r.turns,
    bytesPerTurn: (after.bytes - before.bytes) / r.turns,
  };
}

/**
 * CPU per turn and per exported span, spans and bytes per turn: `rounds` rounds, each a fresh
 * process per path (order alternated so drift on a shared machine hits both alike), medians.
 */
export async function cpuSection(sink: Sink, config: BenchConfig, log: (line: string) => void): Promise<Section> {
  const rounds: Record<PathName, Round[]> = { stock: [], voicetrace: [], none: [] };
  const spansOnly: Round[] = [];
  for (let i = 0; i < config.rounds; i++) {
    for (const path of (i % 2 ? ['voicetrace', 'stock'] : ['stock', 'voicetrace']) as PathName[]) rounds[path].push(await measure(path, sink, config));
    // the simulation alone (no tracing): what the two paths add is measured from it
    if (i < 2) rounds.none.push(await measure('none', sink, config));
    // what the features cost: voicetrace's spans alone (session model, stage spans, export), the rest off
    if (i < 2) spansOnly.push(await measure('voicetrace', sink, config, undefined, SPANS_ONLY));
    log(`cpu round ${i + 1}/${config.rounds}: stock ${rounds.stock.at(-1)!.cpuUsPerTurn.toFixed(0)} µs/turn, voicetrace ${rounds.voicetrace.at(-1)!.cpuUsPerTurn.toFixed(0)} µs/turn`);
  }
  const m = (path: PathName, key: keyof Round): number => median(rounds[path].map((r) => r[key]));
  const spread = (key: keyof Round): string => {
    const ratios = rounds.stock.map((s, i) => rounds.voicetrace[i]![key] / s[key]).sort((a, b) => a - b);
    return `ratio over ${ratios.length} rounds: ${ratios[0]!.toFixed(2)}-${ratios.at(-1)!.toFixed(2)}x`;
  };
  const rows: Row[] = [
    ratioRow({ id: 'cpu_per_turn', label: 'CPU per turn', unit: 'µs', stock: m('stock', 'cpuUsPerTurn'), voicetrace: m('voicetrace', 'cpuUsPerTurn'), target: '<= 1.25x', max: 1.25, note: spread('cpuUsPerTurn') }),
    ratioRow({ id: 'cpu_per_span', label: 'CPU per exported span', unit: 'µs', stock: m('stock', 'cpuUsPerSpan'), voicetrace: m('voicetrace', 'cpuUsPerSpan'), target: '<= 1.0x', max: 1.0, note: spread('cpuUsPerSpan') }),
    { id: 'sdk_spans_per_turn', label: 'SDK spans per turn', unit: '', stock: m('stock', 'sdkSpansPerTurn'), voicetrace: m('voicetrace', 'sdkSpansPerTurn'), digits: 2 },
    ratioRow({ id: 'spans_per_turn', label: 'exported spans per turn', unit: '', stock: m('stock', 'spansPerTurn'), voicetrace: m('voicetrace', 'spansPerTurn'), digits: 2, note: 'voicetrace adds the VAD, STT and EOU spans of each user turn' }),
    ratioRow({
      id: 'bytes_per_turn',
      label: 'bytes per turn (OTLP protobuf)',
      unit: 'B',
      stock: m('stock', 'bytesPerTurn'),
      voicetrace: m('voicetrace', 'bytesPerTurn'),
      digits: 0,
      target: 'nothing sent twice without a reason',
      // no verdict here: the rule is checked where it is decided (ATTRIBUTES.md "Sent once", by check-attributes.mjs and the sent-once tests)
      note: 'reported beside the span count; every value sent in two forms is listed with its reason in ATTRIBUTES.md ("Sent once"), checked by scripts/check-attributes.mjs and packages/livekit/test/sent-once.test.ts',
    }),
  ];
  let profiles: Partial<Record<PathName, ProfileSummary>> | undefined;
  if (config.profile) {
    const dir = mkdtempSync(join(tmpdir(), 'voicetrace-bench-profile-'));
    profiles = {};
    for (const path of ['stock', 'voicetrace'] as PathName[]) {
      const file = join(dir, `${path}.cpuprofile`);
      await measure(path, sink, config, file);
      profiles![path] = summarizeProfile(readProfile(file), 15);
      log(`profile of ${path}: ${file}`);
    }
  }
  const none = median(rounds.none.map((r) => r.cpuUsPerTurn));
  const bare = median(spansOnly.map((r) => r.cpuUsPerTurn));
  rows.splice(1, 0, ratioRow({
    id: 'cpu_per_turn_spans_only',
    label: 'CPU per turn, voicetrace spans only',
    unit: 'µs',
    stock: m('stock', 'cpuUsPerTurn'),
    voicetrace: bare,
    note: `LangFuse mapping, metrics, logs and span journal off (the session model, stage spans and export stay): the features cost ${(m('voicetrace', 'cpuUsPerTurn') - bare).toFixed(0)} µs per turn; median of ${spansOnly.length} rounds`,
  }));
  rows[0]!.note += `; the simulated SDK alone (no tracing) ${none.toFixed(0)} µs/turn: tracing adds ${(m('stock', 'cpuUsPerTurn') - none).toFixed(0)} µs (stock), ${(m('voicetrace', 'cpuUsPerTurn') - none).toFixed(0)} µs (voicetrace)`;
  return { name: 'cpu', rows, details: { rounds, profiles, untracedUsPerTurn: none, addedUsPerTurn: { stock: m('stock', 'cpuUsPerTurn') - none, voicetrace: m('voicetrace', 'cpuUsPerTurn') - none } } };
}
