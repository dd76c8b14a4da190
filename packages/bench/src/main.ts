#!/usr/bin/env node
/**
 * `pnpm bench`: voicetrace's span path against the stock OpenTelemetry path
 * (the same SDK-shaped spans through BatchSpanProcessor + the stock OTLP/HTTP
 * protobuf exporter to a loopback sink), measured in the same run, reported as
 * ratios. Absolute times on a shared 2-core machine are noise; ratios are not.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BasicTracerProvider, BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { DropCounters, SessionEngine, VoiceTraceSpanProcessor } from '@voicetrace/core';
import { LiveKitSpanFacts } from '@voicetrace/livekit';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { startSink } from './sink.js';
import { simulateTurn, startSession } from './workload.js';

type Path = 'stock' | 'voicetrace';

interface Result {
  cpuUsPerTurn: number;
  cpuUsPerSdkSpan: number;
  loopDelayP99Ms: number;
  bytesPerTurn: number;
  turnsPerSecond: number;
}

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 40);
const TURNS = Number(process.env.BENCH_TURNS ?? 25);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/** A session engine bound to the next agent_session root, as `instrument()` makes one. */
function attachEngine(processor: VoiceTraceSpanProcessor, provider: BasicTracerProvider, counters: DropCounters, sessionId: string): SessionEngine {
  const engine = new SessionEngine({ sessionId, allowPii: true, tracer: provider.getTracer('voicetrace'), facts: new LiveKitSpanFacts(counters), counters });
  processor.attach(engine);
  return engine;
}

async function run(path: Path, url: string, sinkBytes: () => number): Promise<Result> {
  const batch = new BatchSpanProcessor(new OTLPTraceExporter({ url }), { maxQueueSize: 200_000, maxExportBatchSize: 512, scheduledDelayMillis: 50 });
  const counters = new DropCounters();
  const voicetrace = path === 'voicetrace' ? new VoiceTraceSpanProcessor({ next: [batch], counters }) : undefined;
  const processor: SpanProcessor = voicetrace ?? batch;
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('livekit-agents');
  const bytesBefore = sinkBytes();
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const started = performance.now();
  const cpu = process.cpuUsage();
  let sdkSpans = 0;
  for (let s = 0; s < SESSIONS; s++) {
    const engine = voicetrace && attachEngine(voicetrace, provider, counters, `bench_${s}`);
    const session = startSession(tracer);
    sdkSpans += 1;
    for (let t = 0; t < TURNS; t++) {
      sdkSpans += simulateTurn(tracer, session.context, t, engine);
      if (t % 5 === 4) await yieldToLoop();
    }
    session.end();
  }
  await provider.forceFlush();
  const used = process.cpuUsage(cpu);
  const wallSeconds = (performance.now() - started) / 1000;
  loop.disable();
  await provider.shutdown();
  const turns = SESSIONS * TURNS;
  const cpuUs = used.user + used.system;
  return {
    cpuUsPerTurn: cpuUs / turns,
    cpuUsPerSdkSpan: cpuUs / sdkSpans,
    loopDelayP99Ms: loop.percentile(99) / 1e6,
    bytesPerTurn: (sinkBytes() - bytesBefore) / turns,
    turnsPerSecond: turns / wallSeconds,
  };
}

async function memoryPerLiveSession(path: Path): Promise<number> {
  const live = 200;
  const provider = new BasicTracerProvider({ spanProcessors: [] });
  const counters = new DropCounters();
  const voicetrace = path === 'voicetrace' ? new VoiceTraceSpanProcessor({ next: [], counters }) : undefined;
  const traced = new BasicTracerProvider({ spanProcessors: voicetrace ? [voicetrace] : [] });
  const tracer = (voicetrace ? traced : provider).getTracer('livekit-agents');
  global.gc?.();
  const before = process.memoryUsage().heapUsed;
  const keep: unknown[] = [];
  for (let s = 0; s < live; s++) {
    const engine = voicetrace && attachEngine(voicetrace, traced, counters, `mem_${s}`);
    const session = startSession(tracer);
    for (let t = 0; t < 10; t++) simulateTurn(tracer, session.context, t, engine);
    keep.push(session, engine);
  }
  global.gc?.();
  const perSession = (process.memoryUsage().heapUsed - before) / live;
  keep.length = 0;
  return perSession;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const sink = await startSink();
const results: Record<Path, Result[]> = { stock: [], voicetrace: [] };
await run('stock', sink.url, sink.bytes); // warm-up: JIT and connection
await run('voicetrace', sink.url, sink.bytes);
for (let round = 0; round < ROUNDS; round++) {
  // alternate the order so drift on a shared machine hits both paths alike
  for (const path of (round % 2 ? ['voicetrace', 'stock'] : ['stock', 'voicetrace']) as Path[]) results[path].push(await run(path, sink.url, sink.bytes));
}
await sink.close();
const memory = { stock: await memoryPerLiveSession('stock'), voicetrace: await memoryPerLiveSession('voicetrace') };

const rows: Array<[string, keyof Result, string]> = [
  ['CPU per turn', 'cpuUsPerTurn', 'µs'],
  ['CPU per SDK span', 'cpuUsPerSdkSpan', 'µs'],
  ['event-loop delay p99 while exporting', 'loopDelayP99Ms', 'ms'],
  ['bytes sent per turn', 'bytesPerTurn', 'B'],
  ['throughput (turns/s, loopback sink)', 'turnsPerSecond', '/s'],
];
console.log(`voicetrace bench: ${SESSIONS} sessions x ${TURNS} turns, median of ${ROUNDS} rounds (node ${process.version})\n`);
console.log('metric'.padEnd(40) + 'stock'.padStart(12) + 'voicetrace'.padStart(12) + 'ratio'.padStart(9));
for (const [label, key, unit] of rows) {
  const stock = median(results.stock.map((r) => r[key]));
  const ours = median(results.voicetrace.map((r) => r[key]));
  console.log(label.padEnd(40) + `${stock.toFixed(1)} ${unit}`.padStart(12) + `${ours.toFixed(1)} ${unit}`.padStart(12) + `${(ours / stock).toFixed(2)}x`.padStart(9));
}
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
console.log('memory per live session (10 turns)'.padEnd(40) + kb(memory.stock).padStart(12) + kb(memory.voicetrace).padStart(12) + `${(memory.voicetrace / memory.stock).toFixed(2)}x`.padStart(9));
if (!global.gc) console.log('\n(memory figures without --expose-gc are rough)');
