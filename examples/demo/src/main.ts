#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { parseInjection, type Injections } from './conversation.js';
import { exportLine, logsLine, runDemo, runDemos } from './run-demo.js';
import { latencyTable, realtimeLatencyTable, usageTable, waitTable } from './table.js';

const HELP = `voicetrace demo: a real LiveKit AgentSession, offline, traced end to end.

  --out DIR            where traces, report.json and report.html go (default ./voicetrace-out)
  --seed N             the scripted providers' seed (default 42): another seed, another call
  --turns N            user turns (default 6, the demo's script; more loops it: tool, barge-in,
                       handoff and back keep happening)
  --slow P=F           make provider P (llm, stt or tts) F times slower, e.g. --slow llm=1.5
  --tts-send MODE      sentence (default: like real streaming plugins) or flush (the whole reply
                       at once, which makes the caller wait for the LLM's last token)
  --sessions N         run N calls (seeds S.. S+N-1 from --seed S), --concurrency C at a time (default 16);
                       then compare sets with: voicetrace summarize DIR / voicetrace compare A B
  --realtime           the same call through a realtime (speech-to-speech) model instead of STT, LLM, TTS
  --trace-per-turn     one trace per user turn (linked to the session)
  --inject CAUSE       cause a quality signal on a chosen user turn (repeatable): dead-air=TURN:SECONDS
                       (the LLM answers SECONDS later), tts-gap=TURN:SECONDS (the answer's second
                       sentence comes SECONDS after its first played out), backchannel=TURN (an
                       "uh-huh" during the answer), missed=TURN (a mumble the STT drops before the
                       words), tool-error=TURN (the weather tool fails), cut-off=TURN (the caller goes on before the
                       agent's audio), repeat=TURN (asks the previous question again), hangup=TURN
  -h, --help           this text`;

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: './voicetrace-out' },
    seed: { type: 'string', default: '42' },
    turns: { type: 'string' },
    slow: { type: 'string', multiple: true },
    inject: { type: 'string', multiple: true },
    'tts-send': { type: 'string' },
    sessions: { type: 'string' },
    concurrency: { type: 'string' },
    'trace-per-turn': { type: 'boolean', default: false },
    realtime: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}

const fail = (message: string): never => {
  console.error(`demo: ${message}\n\n${HELP}`);
  process.exit(2);
};
const positive = (name: string, raw: string | undefined): number | undefined => {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? n : fail(`--${name} must be a positive integer, not ${raw}`);
};
const slow: Record<string, number> = {};
for (const entry of values.slow ?? []) {
  const [provider, factor] = entry.split('=');
  if (!provider || !['llm', 'stt', 'tts'].includes(provider) || !(Number(factor) > 0)) fail(`--slow takes llm=F, stt=F or tts=F with F > 0, not ${entry}`);
  slow[provider!] = Number(factor);
}
let inject: Injections = {};
for (const spec of values.inject ?? []) {
  const parsed = parseInjection(spec, inject);
  if (typeof parsed === 'string') fail(parsed);
  inject = parsed as Injections;
}
const ttsSend = values['tts-send'];
if (ttsSend !== undefined && ttsSend !== 'sentence' && ttsSend !== 'flush') fail(`--tts-send is sentence or flush, not ${ttsSend}`);

const common = {
  out: values.out!,
  seed: Number(values.seed),
  turns: positive('turns', values.turns),
  realtime: values.realtime,
  inject,
  plugins: { slow, tts: ttsSend ? { sendOn: ttsSend as 'sentence' | 'flush' } : undefined },
  voicetrace: values['trace-per-turn'] ? { traceMode: 'turn' as const } : {},
};

const sessions = positive('sessions', values.sessions);
if (sessions !== undefined) {
  const started = Date.now();
  const results = await runDemos({
    ...common,
    sessions,
    concurrency: positive('concurrency', values.concurrency),
    // a progress line on a terminal only: a log file gets the summary line alone
    onDone: (done, total) => process.stderr.isTTY && process.stderr.write(`\rdemo: ${done}/${total} calls`),
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  console.log(`voicetrace demo: ${results.length} calls in ${((Date.now() - started) / 1000).toFixed(1)} s, reports in ${values.out}`);
  console.log(`summarize them:  npx --yes pnpm@10.34.9 voicetrace summarize ${values.out}`);
  process.exit(0);
}

const result = await runDemo(common);
console.log(`\nvoicetrace demo: session ${result.sessionId} (${result.summary.userTurns} user turns, ${result.summary.replyCount} agent replies, ${result.summary.interruptions} interrupted) in ${result.seconds.toFixed(1)} s\n`);
if (values.realtime) {
  console.log('Per-turn latency (ms), realtime model: endpoint = the server\'s end-of-speech silence, tools = tool-call response + tool,');
  console.log('model = model time to first audio, playout = first audio to playback, e2e = user stops -> agent audio.');
  console.log('Not measurable in this mode: STT transcription delay, LLM TTFT and TTS TTFB (one model hears and speaks).\n');
  console.log(realtimeLatencyTable(result.summary));
} else {
  console.log('Per-turn latency (ms): stt = transcription delay, eou = end-of-utterance delay, total = eou + ttft + ttfb, e2e = user stops -> agent audio\n');
  console.log(latencyTable(result.summary));
}
console.log('\nWhere the wait went (ms, consecutive, sums to e2e):\n');
console.log(waitTable(result.summary));
console.log('\nUsage and estimated cost:\n');
console.log(usageTable(result.summary));
console.log(`\ntraces: ${result.tracesPath}`);
if (result.report.json) console.log(`report: ${result.report.json}`);
if (result.report.html) console.log(`report (HTML, opens offline): ${result.report.html}`);
for (const [name, stats] of Object.entries(result.exports)) {
  if (name !== 'file') console.log(exportLine(name, stats));
}
const logs = logsLine(result.logs);
if (logs) console.log(logs);
process.exit(0);
