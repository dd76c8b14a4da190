#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { runDemo } from './run-demo.js';
import { latencyTable, usageTable, waitTable } from './table.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: './voicetrace-out' },
    seed: { type: 'string', default: '42' },
    'trace-per-turn': { type: 'boolean', default: false },
  },
});

const result = await runDemo({
  out: values.out!,
  seed: Number(values.seed),
  voicetrace: values['trace-per-turn'] ? { traceMode: 'turn' } : {},
});
console.log(`\nvoicetrace demo: session ${result.sessionId} (${result.summary.userTurns} user turns, ${result.summary.replyCount} agent replies, ${result.summary.interruptions} interrupted) in ${result.seconds.toFixed(1)} s\n`);
console.log('Per-turn latency (ms): stt = transcription delay, eou = end-of-utterance delay, total = eou + ttft + ttfb, e2e = user stops -> agent audio\n');
console.log(latencyTable(result.summary));
console.log('\nWhere the wait went (ms, consecutive, sums to e2e):\n');
console.log(waitTable(result.summary));
console.log('\nUsage and estimated cost:\n');
console.log(usageTable(result.summary));
console.log(`\ntraces: ${result.tracesPath}`);
if (result.report.json) console.log(`report: ${result.report.json}`);
if (result.report.html) console.log(`report (HTML): ${result.report.html}`);
for (const [name, stats] of Object.entries(result.exports)) {
  if (name !== 'file') console.log(`${name} export: ${stats.exportedSpans} spans delivered, ${stats.failedSpans} failed`);
}
process.exit(0);
