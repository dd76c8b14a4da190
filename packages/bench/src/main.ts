#!/usr/bin/env node
/**
 * `pnpm bench`: voicetrace's path (setupVoiceTrace, as users run it) against the stock OpenTelemetry
 * path (the same SDK-shaped spans through BatchSpanProcessor and the stock OTLP/protobuf exporter),
 * measured in the same run, each path in fresh processes, reported as ratios with their targets.
 * The BENCH_* variables are in packages/bench/README.md.
 */
import { writeFileSync } from 'node:fs';
import { readConfig } from './config.js';
import { machine } from './machine.js';
import type { ProfileSummary } from './profile.js';
import { renderTable, type Row, type Section } from './rows.js';
import { agentSection } from './sections/agent.js';
import { collectorSection } from './sections/collector.js';
import { cpuSection } from './sections/cpu.js';
import { loopSection } from './sections/loop.js';
import { memorySection } from './sections/memory.js';
import { startSink } from './sink.js';
import { VOICETRACE_FEATURES } from './pipelines.js';

const config = readConfig();
const wants = (name: string): boolean => !config.only || config.only.has(name);
const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);
const host = machine();
const started = Date.now();
log(`${host.cpu}, ${host.cores} CPUs, node ${host.node}`);

const sink = await startSink();
const sections: Section[] = [];
try {
  if (wants('cpu')) sections.push(await cpuSection(sink, config, log));
  if (wants('loop')) sections.push(await loopSection(sink, config, log));
  if (wants('throughput') || wants('collector')) sections.push(await collectorSection(config, log, { throughput: wants('throughput'), capacity: wants('collector') && config.collectorSeconds > 0 }));
  if (wants('memory')) sections.push(await memorySection(sink, config, log));
  if (wants('agent') && config.agentSessions > 0) {
    const cpu = sections.find((s) => s.name === 'cpu')?.details?.addedUsPerTurn as { stock: number; voicetrace: number } | undefined;
    sections.push(await agentSection(sink, config, log, cpu));
  }
} finally {
  await sink.close();
}

const rows: Row[] = sections.flatMap((s) => s.rows);
const seconds = (Date.now() - started) / 1000;
console.log(`\nvoicetrace bench, ${new Date(host.date).toISOString().slice(0, 10)}: ${host.cpu}, ${host.cores} CPUs, node ${host.node}; ${seconds.toFixed(0)} s`);
console.log(`CPU rows: ${config.sessions} calls x ${config.turns} turns, ${config.concurrency} at a time, median of ${config.rounds} rounds`);
console.log(`voicetrace path: ${VOICETRACE_FEATURES}\n`);
console.log(renderTable(rows));
const profiles = sections.find((s) => s.name === 'cpu')?.details?.profiles as Record<string, ProfileSummary> | undefined;
if (profiles) {
  for (const [path, p] of Object.entries(profiles)) {
    console.log(`\nprofile, ${path} (self time, top entries):`);
    for (const e of p.modules.slice(0, 8)) console.log(`  ${(e.share * 100).toFixed(1).padStart(5)}%  ${e.name}`);
    console.log('  --');
    for (const e of p.functions.slice(0, 12)) console.log(`  ${(e.share * 100).toFixed(1).padStart(5)}%  ${e.name}`);
  }
}
const missed = rows.filter((r) => r.met === false).map((r) => r.label);
console.log(missed.length ? `\ntargets missed: ${missed.join('; ')}` : '\nevery target with a verdict is met');
if (config.json) {
  writeFileSync(config.json, `${JSON.stringify({ machine: host, seconds, config: { ...config, only: config.only ? [...config.only] : undefined }, features: VOICETRACE_FEATURES, sections }, null, 1)}\n`);
  log(`results written to ${config.json}`);
}
