// Property-based tests of the engine (fast-check): random streams of normalized events interleaved
// with span starts and ends shaped like @livekit/agents 1.9's (a turn as packages/bench's workload
// makes it: user_turn > user_speaking, agent_turn > llm_node > llm_request, tts_node > tts_request,
// function_tool...), then broken on purpose: pieces missing, order shuffled, events and span ends
// duplicated, NaN / negative / huge / -1 values, unknown and malformed inputs, inputs after
// shutdown. Against a real VoiceTraceSpanProcessor + SessionEngine on a BasicTracerProvider with an
// in-memory exporter, whatever the stream:
//   - nothing throws into the caller;
//   - after shutdown every span is ended, and the engine holds no open span;
//   - every exported parent id is an exported span of the same trace (or the remote parent);
//   - on every agent_turn that carries a wait breakdown, the slices sum to voicetrace.latency.e2e
//     (|sum - e2e| < 1e-9);
// and on 10,000-turn streams the engine and its model stay bounded (retained turns, open spans,
// snapshot size, heap after GC).
import { ROOT_CONTEXT, trace, type Attributes, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR, LIVEKIT_SCOPE, SDK_SPAN_STAGE, VOICETRACE_SCOPE } from '@voicetrace/conventions';
import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { DropCounters } from '../src/counters.js';
import type { StageMetric, VoiceEvent } from '../src/events.js';
import { VoiceTraceSpanProcessor } from '../src/processor.js';
import { SessionEngine } from '../src/session-engine.js';
import type { SpanFacts, SpanFactsReader, SpanView } from '../src/span-facts.js';
import type { TraceMode } from '../src/trace-layout.js';
import { FieldValidator } from '../src/validate.js';

// ---- a stream: operations on spans and events ----------------------------------------------

/** A number as providers report them: mostly plausible, sometimes NaN, negative, the -1 sentinel, huge or infinite. */
const value = (max: number) =>
  fc.oneof(
    { weight: 12, arbitrary: fc.double({ min: 0, max, noNaN: true, noDefaultInfinity: true }) },
    { weight: 1, arbitrary: fc.constantFrom(Number.NaN, -1, -0.25, 0, 1e300, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 4_102_444_801) },
  );
const count = () => fc.oneof({ weight: 12, arbitrary: fc.nat({ max: 5000 }) }, { weight: 1, arbitrary: fc.constantFrom(Number.NaN, -3, 1e15) });

/** One turn's parameters (what a turn looked like) before the stream is broken. */
const turnParams = fc.record({
  gap: fc.double({ min: 0.05, max: 3, noNaN: true }),
  speech: value(6),
  sttDelay: value(1),
  eouDelay: value(1.5),
  userCallback: value(0.3),
  ttft: value(2),
  llmDuration: value(4),
  ttfb: value(1),
  ttsDuration: value(3),
  e2e: value(4),
  inputTokens: count(),
  outputTokens: count(),
  characters: count(),
  audio: value(20),
  tool: fc.boolean(),
  toolError: fc.boolean(),
  adapterTts: fc.boolean(),
  interrupted: fc.boolean(),
  handoff: fc.boolean(),
  realtime: fc.boolean(),
  error: fc.boolean(),
  /** The SDK's user_turn delays come in ms; a stray unit turns them into timestamps. */
  delayAsTimestamp: fc.boolean(),
  model: fc.constantFrom('gpt-4o-mini', 'gpt-4o', 'unknown'),
});
type TurnParams = typeof turnParams extends fc.Arbitrary<infer T> ? T : never;

type Op =
  | { t: 'start'; id: string; name: string; parent: string; attrs: Attributes; metric?: StageMetric }
  | { t: 'attrs'; id: string; attrs: Attributes }
  | { t: 'end'; id: string }
  | { t: 'event'; event: unknown }
  | { t: 'tick'; seconds: number };

/** A turn as @livekit/agents 1.9 traces it (packages/bench/src/workload.ts), with its events. */
function turnOps(turn: number, p: TurnParams, clock: { now: number }): Op[] {
  const s = `speech_${turn}`;
  const u = `u${turn}`;
  const a = `a${turn}`;
  const at = (offset = 0) => clock.now + offset;
  const ops: Op[] = [];
  const tick = (seconds: number) => ops.push({ t: 'tick', seconds: Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds, 30) : 0.01 });
  const event = (e: Record<string, unknown>) => ops.push({ t: 'event', event: e });
  tick(p.gap);
  ops.push({ t: 'start', id: u, name: 'user_turn', parent: 'session', attrs: { 'lk.pii.user_transcript': `turn ${turn}`, 'lk.transcript_confidence': 0.9 } });
  event({ kind: 'user_speech', at: at(), speaking: true });
  ops.push({ t: 'start', id: `${u}.speaking`, name: 'user_speaking', parent: u, attrs: {} });
  event({ kind: 'vad', at: at(0.01), label: 'vad', idleTime: p.gap, inferenceTimeTotal: 0.01, inferenceCount: 50 });
  tick(p.speech);
  ops.push({ t: 'end', id: `${u}.speaking` });
  event({ kind: 'user_speech', at: at(), speaking: false });
  const speechEnd = at();
  tick(p.sttDelay);
  event({ kind: 'transcript', at: at(), final: true, text: `turn ${turn}` });
  event({ kind: 'stt', at: at(), provider: 'deepgram', model: 'nova-3', audioDuration: p.speech, streamed: true, inputTokens: 0, outputTokens: 0 });
  tick(p.eouDelay);
  event({ kind: 'eou', at: at(), speechId: s, eouDelay: p.eouDelay, transcriptionDelay: p.sttDelay, onUserTurnCompletedDelay: p.userCallback, lastSpeakingTime: speechEnd });
  ops.push({ t: 'attrs', id: u, attrs: { 'lk.transcription_delay': p.delayAsTimestamp ? Date.now() : p.sttDelay * 1000, 'lk.end_of_turn_delay': p.eouDelay * 1000 } });
  ops.push({ t: 'end', id: u });
  event({ kind: 'message', at: at(), role: 'user', text: `turn ${turn}`, interrupted: false, confidence: 0.9 });
  ops.push({ t: 'start', id: a, name: 'agent_turn', parent: 'session', attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': p.handoff ? 'billing' : 'front_desk', 'lk.speech_id': s } });
  event({ kind: 'agent_state', at: at(), state: 'thinking' });
  if (p.tool) {
    const tool = { kind: 'llm', at: at(0.3), provider: 'openai', model: p.model, speechId: s, ttft: p.ttft, duration: 0.3, cancelled: false, inputTokens: p.inputTokens, outputTokens: 5, cachedInputTokens: 0, cacheCreationTokens: 0 } as const;
    ops.push({ t: 'start', id: `${a}.toolllm`, name: 'llm_request', parent: a, attrs: { 'gen_ai.response.finish_reasons': ['tool_calls'] }, metric: tool as StageMetric });
    tick(0.3);
    ops.push({ t: 'end', id: `${a}.toolllm` });
    event(tool);
    ops.push({ t: 'start', id: `${a}.tool`, name: 'function_tool', parent: a, attrs: { 'gen_ai.tool.name': 'lookup', 'lk.function_tool.is_error': p.toolError } });
    tick(0.1);
    ops.push({ t: 'end', id: `${a}.tool` });
    event({ kind: 'tools', at: at(), calls: [{ name: 'lookup', arguments: '{"q":"x"}', output: 'ok', isError: p.toolError }] });
  }
  ops.push({ t: 'start', id: `${a}.llmnode`, name: 'llm_node', parent: a, attrs: {} });
  const llm = { kind: 'llm', at: at(p.llmDuration), provider: 'openai', model: p.model, speechId: s, requestId: `req_${turn}`, ttft: p.ttft, duration: p.llmDuration, cancelled: p.interrupted, inputTokens: p.inputTokens, outputTokens: p.outputTokens, cachedInputTokens: 0, cacheCreationTokens: 0 };
  ops.push({ t: 'start', id: `${a}.llm`, name: 'llm_request', parent: `${a}.llmnode`, attrs: { 'gen_ai.request.model': p.model }, metric: llm as StageMetric });
  ops.push({ t: 'start', id: `${a}.llmrun`, name: 'llm_request_run', parent: `${a}.llm`, attrs: {} });
  ops.push({ t: 'start', id: `${a}.ttsnode`, name: 'tts_node', parent: a, attrs: {} });
  const tts = { kind: 'tts', at: at(p.ttsDuration), provider: 'cartesia', model: 'sonic-2', speechId: s, ttfb: p.ttfb, duration: p.ttsDuration, audioDuration: p.audio, characters: p.characters, streamed: !p.adapterTts, cancelled: p.interrupted, inputTokens: 0, outputTokens: 0 };
  ops.push({ t: 'start', id: `${a}.tts`, name: 'tts_request', parent: `${a}.ttsnode`, attrs: {}, metric: tts as StageMetric });
  if (p.adapterTts) ops.push({ t: 'start', id: `${a}.tts2`, name: 'tts_request', parent: `${a}.tts`, attrs: {}, metric: { ...tts, streamed: false } as StageMetric });
  tick(p.ttft);
  ops.push({ t: 'end', id: `${a}.llmrun` });
  tick(p.llmDuration);
  ops.push({ t: 'end', id: `${a}.llm` });
  event(llm);
  ops.push({ t: 'end', id: `${a}.llmnode` });
  event({ kind: 'agent_state', at: at(), state: 'speaking' });
  ops.push({ t: 'start', id: `${a}.speaking`, name: 'agent_speaking', parent: a, attrs: {} });
  if (p.adapterTts) {
    ops.push({ t: 'end', id: `${a}.tts2` });
    event({ ...tts, streamed: false });
  }
  tick(p.ttsDuration);
  ops.push({ t: 'end', id: `${a}.tts` });
  event(tts);
  ops.push({ t: 'end', id: `${a}.ttsnode` });
  if (p.interrupted) {
    event({ kind: 'user_speech', at: at(), speaking: true });
    event({ kind: 'interruption', at: at(0.05), detectionDelay: 0.2, predictionTime: 0.01, roundTrip: 0.05, interruptions: 1, backchannels: 0, requests: 1 });
  }
  if (p.realtime) {
    event({ kind: 'realtime', at: at(), provider: 'openai', model: 'gpt-realtime', requestId: `rt_${turn}`, createdAt: at(-1), ttft: p.ttft, duration: 1, cancelled: false, inputTokens: 10, outputTokens: 10, inputAudioTokens: 5, inputTextTokens: 5, inputCachedTokens: 0, outputAudioTokens: 5, outputTextTokens: 5 });
  }
  ops.push({ t: 'end', id: `${a}.speaking` });
  event({ kind: 'agent_state', at: at(), state: 'listening' });
  event({ kind: 'message', at: at(), role: 'assistant', text: `reply ${turn}`, interrupted: p.interrupted });
  ops.push({ t: 'attrs', id: a, attrs: { 'lk.e2e_latency': p.e2e, 'lk.interrupted': p.interrupted } });
  ops.push({ t: 'end', id: a });
  if (p.handoff) event({ kind: 'handoff', at: at(), fromAgent: 'front_desk', toAgent: 'billing' });
  if (p.error) event({ kind: 'error', at: at(), source: 'llm', message: 'rate limited', recoverable: true });
  return ops;
}

/** Inputs no binding should send, that the engine must shrug off. */
const junk = fc.constantFrom<unknown>(
  null,
  undefined,
  'llm',
  42,
  {},
  { kind: 'bogus', at: 1_700_000_000 },
  { kind: 'llm' },
  { kind: 'llm', at: Number.NaN },
  { kind: 'tts', at: 1_700_000_000, provider: 'x', model: 'y', characters: Number.NaN, audioDuration: -1, streamed: true, cancelled: false, inputTokens: 0, outputTokens: 0 },
  { kind: 'close', at: 1_700_000_000, reason: 'mid-stream' },
  { kind: 'eou', at: 1_700_000_000, speechId: 'speech_999', eouDelay: 1e300 },
  { kind: 'tools', at: 1_700_000_000, calls: [] },
  { kind: 'handoff', at: 1_700_000_000, toAgent: '' },
  { kind: 'message', at: 1_700_000_000, role: 'assistant', text: 'x'.repeat(100_000), interrupted: false },
);

/** How a stream is broken: each mutation picks an op by index (modulo the stream's length). */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), distance: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('inject' as const), at: fc.nat(), input: junk }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(ops: Op[], mutations: readonly Mutation[]): Op[] {
  const out = [...ops];
  for (const m of mutations) {
    if (!out.length) break;
    const i = m.at % out.length;
    if (m.kind === 'drop') out.splice(i, 1);
    else if (m.kind === 'duplicate') out.splice(i, 0, out[i]!); // the same event object twice, or a second start/end
    else if (m.kind === 'swap') {
      const j = Math.min(out.length - 1, i + m.distance);
      [out[i], out[j]] = [out[j]!, out[i]!];
    } else out.splice(i, 0, { t: 'event', event: m.input });
  }
  return out;
}

// ---- running a stream against the real processor and engine ---------------------------------

/** Span facts as the LiveKit binding reads them, from the SDK's attributes (metrics handed over by id). */
class TestFacts implements SpanFactsReader {
  constructor(
    private readonly counters: DropCounters,
    private readonly metrics: Map<string, StageMetric>,
  ) {}

  atStart(span: SpanView): SpanFacts {
    if (span.scope !== LIVEKIT_SCOPE) return {};
    const speechId = span.attributes['lk.speech_id'];
    const agent = span.attributes['gen_ai.agent.name'];
    return { stage: SDK_SPAN_STAGE[span.name], speechId: typeof speechId === 'string' ? speechId : undefined, agentName: typeof agent === 'string' ? agent : undefined };
  }

  atEnd(span: SpanView): SpanFacts {
    if (span.scope !== LIVEKIT_SCOPE) return {};
    const attrs = span.attributes;
    const v = new FieldValidator(this.counters);
    const metric = typeof attrs['test.metric'] === 'string' ? this.metrics.get(attrs['test.metric']) : undefined;
    switch (span.name) {
      case 'llm_request': {
        const reasons = attrs['gen_ai.response.finish_reasons'];
        return { metric: metric && { ...metric }, speakable: !(Array.isArray(reasons) && reasons.every((r) => r === 'tool_calls')) };
      }
      case 'tts_request':
        return { metric: metric && { ...metric } };
      case 'agent_turn':
        return { e2e: v.duration('e2e_latency', attrs['lk.e2e_latency'], 's'), interrupted: attrs['lk.interrupted'] === true };
      case 'user_turn':
        return { transcriptionDelay: v.duration('transcription_delay', attrs['lk.transcription_delay'], 'ms'), endOfTurnDelay: v.duration('end_of_turn_delay', attrs['lk.end_of_turn_delay'], 'ms') };
      case 'function_tool':
        return { toolName: String(attrs['gen_ai.tool.name'] ?? ''), toolError: attrs['lk.function_tool.is_error'] === true };
      default:
        return {};
    }
  }
}

const REMOTE_PARENT: SpanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1, isRemote: true };

interface Harness {
  tracer: Tracer;
  engine: SessionEngine;
  processor: VoiceTraceSpanProcessor;
  counters: DropCounters;
  metrics: Map<string, StageMetric>;
  live: Map<string, Span>;
  /** Every span the stream started (undefined in long runs: holding them would be the leak). */
  created: Span[] | undefined;
  clock: { now: number };
  thrown: unknown[];
}

/**
 * Hands each ended span to the exporter at once. (SimpleSpanProcessor holds every export's promise
 * until the event loop turns: a long synchronous stream would measure those, not the engine.)
 */
class InlineProcessor implements SpanProcessor {
  constructor(private readonly exporter: SpanExporter) {}
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.exporter.export([span], () => undefined);
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

function harness(mode: TraceMode, exporter: SpanExporter, remote: boolean, keepCreated = true): Harness {
  const counters = new DropCounters();
  const next = keepCreated ? new SimpleSpanProcessor(exporter) : new InlineProcessor(exporter);
  const processor = new VoiceTraceSpanProcessor({ next: [next], traceMode: mode, counters });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const metrics = new Map<string, StageMetric>();
  const engine = new SessionEngine({
    sessionId: 'sess-prop',
    userId: 'caller',
    allowPii: true,
    tracer: provider.getTracer(VOICETRACE_SCOPE),
    facts: new TestFacts(counters, metrics),
    counters,
    maxTurns: 100,
  });
  processor.attach(engine, remote ? { remoteParent: REMOTE_PARENT } : {});
  const clock = { now: 1_700_000_000 };
  const tracer = provider.getTracer(LIVEKIT_SCOPE, '1.9.0');
  const live = new Map<string, Span>();
  const h: Harness = { tracer, engine, processor, counters, metrics, live, created: keepCreated ? [] : undefined, clock, thrown: [] };
  const session = tracer.startSpan('agent_session', { startTime: clock.now * 1000, attributes: { 'gen_ai.operation.name': 'invoke_workflow' } }, ROOT_CONTEXT);
  live.set('session', session);
  h.created?.push(session);
  return h;
}

let metricIds = 0;

function apply(h: Harness, op: Op): void {
  try {
    switch (op.t) {
      case 'tick':
        h.clock.now += op.seconds;
        return;
      case 'event':
        h.engine.record(op.event as VoiceEvent);
        return;
      case 'start': {
        // a parent whose start went missing: the SDK would have started the child under the session
        const parent = h.live.get(op.parent) ?? h.live.get('session')!;
        const attrs: Attributes = { ...op.attrs };
        if (op.metric) {
          const id = `m${metricIds++}`;
          h.metrics.set(id, op.metric);
          attrs['test.metric'] = id;
        }
        const span = h.tracer.startSpan(op.name, { startTime: h.clock.now * 1000, attributes: attrs }, trace.setSpan(ROOT_CONTEXT, parent));
        h.live.set(op.id, span);
        h.created?.push(span);
        return;
      }
      case 'attrs':
        h.live.get(op.id)?.setAttributes(op.attrs);
        return;
      case 'end': {
        const span = h.live.get(op.id);
        if (!span) return;
        const metricId = (span as unknown as { attributes?: Attributes }).attributes?.['test.metric'];
        span.end(h.clock.now * 1000);
        if (typeof metricId === 'string') h.metrics.delete(metricId);
        // an ended span is no parent anymore for the stream (a late child starts under the session)
        if (op.id !== 'session' && op.id !== 'late') h.live.delete(op.id);
        return;
      }
    }
  } catch (error) {
    h.thrown.push(error);
  }
}

/** Every span's ids as exported, and the checks that hold for any stream. */
function checkExport(spans: readonly ReadableSpan[], remote: boolean): void {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  for (const span of spans) {
    const parent = span.parentSpanContext;
    if (!parent) continue;
    if (remote && parent.spanId === REMOTE_PARENT.spanId) {
      expect(span.spanContext().traceId).toBe(REMOTE_PARENT.traceId);
      continue;
    }
    const exportedParent = byId.get(parent.spanId);
    expect(exportedParent, `${span.name}'s parent ${parent.spanId} is not in the export`).toBeDefined();
    expect(exportedParent!.spanContext().traceId, `${span.name} and its parent ${exportedParent!.name} in different traces`).toBe(span.spanContext().traceId);
  }
  for (const span of spans) checkWait(span);
}

function checkWait(span: ReadableSpan): void {
  if (span.name !== 'agent_turn') return;
  const breakdown = span.attributes[ATTR.WAIT_BREAKDOWN];
  if (typeof breakdown !== 'string') return;
  const e2e = span.attributes[ATTR.LATENCY_E2E];
  expect(typeof e2e, 'an agent_turn with a breakdown carries e2e').toBe('number');
  const slices = JSON.parse(breakdown) as Array<{ key: string; seconds: number }>;
  const sum = slices.reduce((total, slice) => total + slice.seconds, 0);
  expect(Math.abs(sum - (e2e as number)), `wait ${JSON.stringify(slices)} vs e2e ${e2e}`).toBeLessThan(1e-9);
  for (const slice of slices) expect(Number.isFinite(slice.seconds) && slice.seconds >= 0, JSON.stringify(slice)).toBe(true);
}

const afterShutdownInputs: VoiceEvent[] = [
  { kind: 'llm', at: 1_800_000_000, provider: 'openai', model: 'gpt-4o', ttft: 0.2, cancelled: false, inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, cacheCreationTokens: 0 },
  { kind: 'user_speech', at: 1_800_000_000, speaking: true },
  { kind: 'close', at: 1_800_000_000, reason: 'late' },
];

async function runStream(ops: Op[], mode: TraceMode, remote: boolean, endSession: boolean) {
  const exporter = new InMemorySpanExporter();
  const h = harness(mode, exporter, remote);
  for (const op of ops) apply(h, op);
  if (endSession) apply(h, { t: 'end', id: 'session' });
  await h.processor.shutdown();
  // inputs after shutdown: dropped and counted, never thrown
  const exportedAtShutdown = [...exporter.getFinishedSpans()];
  for (const event of afterShutdownInputs) apply(h, { t: 'event', event });
  apply(h, { t: 'start', id: 'late', name: 'agent_turn', parent: 'session', attrs: { 'lk.speech_id': 'late' } });
  apply(h, { t: 'end', id: 'late' });
  return { h, exported: exportedAtShutdown };
}

// ---- the properties ---------------------------------------------------------------------------

describe('engine properties over random, broken streams (fast-check)', () => {
  for (const mode of ['session', 'turn'] as const) {
    it(`${mode} traces: no throw, every span ended at shutdown, parents exported, wait sums to e2e`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(turnParams, { minLength: 1, maxLength: 6 }),
          fc.array(mutation, { maxLength: 25 }),
          fc.boolean(),
          fc.boolean(),
          async (turns, mutations, remote, endSession) => {
            const clock = { now: 1_700_000_000 };
            const ops = mutate(turns.flatMap((p, i) => turnOps(i + 1, p, clock)), mutations);
            const { h, exported } = await runStream(ops, mode, remote, endSession);
            expect(h.thrown).toEqual([]);
            const open = h.created!.filter((span) => span.isRecording());
            expect(open.map((s) => (s as unknown as ReadableSpan).name)).toEqual([]);
            expect(h.engine.openSpans()).toEqual([]);
            checkExport(exported, remote);
            expect(h.counters.get('after_shutdown')).toBeGreaterThan(0);
            expect(h.counters.get('internal_error')).toBe(0);
          },
        ),
        { numRuns: 150 },
      );
    }, 120_000);
  }

  it('clean turns: every played reply carries a breakdown that sums to e2e', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(turnParams, { minLength: 1, maxLength: 8 }), async (turns) => {
        const clock = { now: 1_700_000_000 };
        const ops = turns.flatMap((p, i) => turnOps(i + 1, p, clock));
        const { h, exported } = await runStream(ops, 'session', false, true);
        expect(h.thrown).toEqual([]);
        checkExport(exported, false);
        const withE2e = exported.filter((s) => s.name === 'agent_turn' && typeof s.attributes[ATTR.LATENCY_E2E] === 'number');
        for (const span of withE2e) expect(typeof span.attributes[ATTR.WAIT_BREAKDOWN]).toBe('string');
      }),
      { numRuns: 100 },
    );
  }, 120_000);
});

// ---- long calls: bounded memory -------------------------------------------------------------

/** Counts and checks spans as they come, keeping none (an in-memory exporter would be the leak). */
class CheckingExporter implements SpanExporter {
  spans = 0;
  agentTurnsWithBreakdown = 0;
  export(spans: ReadableSpan[], done: (result: { code: number }) => void): void {
    for (const span of spans) {
      this.spans++;
      if (span.name === 'agent_turn' && typeof span.attributes[ATTR.WAIT_BREAKDOWN] === 'string') {
        this.agentTurnsWithBreakdown++;
        checkWait(span);
      }
    }
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapMb = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
};
/** The sizes of the engine's and layout's internal maps, when they are there (read for the report, never relied on). */
function internals(h: Harness): Record<string, number | undefined> {
  const engine = h.engine as unknown as Record<string, { size?: number } | undefined>;
  const processor = h.processor as unknown as { byTrace?: Map<string, { layout?: Record<string, { size?: number }> }> };
  const layout = [...(processor.byTrace?.values() ?? [])][0]?.layout;
  return {
    open: engine.open?.size,
    turnSpans: engine.turnSpans?.size,
    turnOfSpanId: engine.turnOfSpanId?.size,
    replyContexts: engine.replyContexts?.size,
    layoutTraceOf: layout?.traceOf?.size,
    layoutReparented: layout?.reparented?.size,
  };
}

describe('a 10,000-turn call stays bounded', () => {
  for (const mode of ['session', 'turn'] as const) {
    it(`${mode} traces: retained turns, open spans, snapshot size and heap plateau`, async () => {
      const exporter = new CheckingExporter();
      const h = harness(mode, exporter, false, false);
      const clock = h.clock;
      // one fixed, realistic sample of turn shapes (with its anomalies), cycled: the stream is long, not random per turn
      const samples = fc.sample(turnParams, { numRuns: 50, seed: 7 });
      const junkSamples = fc.sample(junk, { numRuns: 20, seed: 9 });
      const measures: Array<{ turn: number; heap: number; snapshot: number; turns: number; open: number; internals: Record<string, number | undefined> }> = [];
      const measure = (turn: number) => {
        const snapshot = h.engine.summary();
        measures.push({ turn, heap: heapMb(), snapshot: JSON.stringify(snapshot).length, turns: snapshot.turns.length, open: h.engine.openSpans().length, internals: internals(h) });
      };
      const started = Date.now();
      for (let turn = 1; turn <= 10_000; turn++) {
        for (const op of turnOps(turn, samples[turn % samples.length]!, clock)) apply(h, op);
        if (turn % 37 === 0) apply(h, { t: 'event', event: junkSamples[turn % junkSamples.length] });
        if (turn % 50 === 0) await new Promise((resolve) => setImmediate(resolve)); // let the engine's timers and promises run, as a live call does
        if (turn === 1000 || turn === 2000 || turn % 2500 === 0) measure(turn);
      }
      const seconds = (Date.now() - started) / 1000;
      expect(h.thrown).toEqual([]);
      const first = measures.find((m) => m.turn === 2000)!;
      const last = measures[measures.length - 1]!;
      console.log(
        `[engine 10k ${mode}] ${exporter.spans} spans exported, ${exporter.agentTurnsWithBreakdown} breakdowns checked, in ${seconds.toFixed(1)} s\n` +
          measures.map((m) => `  turn ${String(m.turn).padStart(5)}: heap ${m.heap.toFixed(1)} MB, snapshot ${(m.snapshot / 1024).toFixed(0)} KiB, ${m.turns} turns kept, ${m.open} open spans, internals ${JSON.stringify(m.internals)}`).join('\n'),
      );
      expect(exporter.agentTurnsWithBreakdown).toBeGreaterThan(1000);
      // the model keeps its last maxTurns (100) turns; the rest are statistics
      expect(last.turns).toBeLessThanOrEqual(101);
      // spans of finished turns are not held open
      expect(last.open).toBeLessThan(50);
      // snapshot size: bounded by the retained turns, not the call's length
      expect(last.snapshot).toBeLessThan(first.snapshot * 1.5 + 64 * 1024);
      for (const key of ['turnSpans', 'turnOfSpanId', 'replyContexts', 'open'] as const) {
        const size = last.internals[key];
        if (size !== undefined) expect(size, key).toBeLessThanOrEqual(5000);
      }
      // the heap between turn 2,000 and 10,000 (8,000 more turns, ~120,000 spans): flat
      const allowed = 16;
      expect(last.heap - first.heap, `heap ${first.heap.toFixed(1)} -> ${last.heap.toFixed(1)} MB`).toBeLessThan(allowed);
    }, 180_000);
  }

  // TraceLayout keeps one entry per span it placed until the span ended and 512 newer ones ended
  // (a stage span placed late may still start under it): a long call's maps stay bounded.
  it('turn traces: the trace layout keeps a bounded number of entries', async () => {
    const h = harness('turn', new CheckingExporter(), false, false);
    const [sample] = fc.sample(turnParams, { numRuns: 1, seed: 7 });
    for (let turn = 1; turn <= 2000; turn++) for (const op of turnOps(turn, sample!, h.clock)) apply(h, op);
    const sizes = internals(h);
    expect(sizes.layoutTraceOf).toBeDefined();
    expect(sizes.layoutTraceOf!).toBeLessThanOrEqual(5000);
  });
});
