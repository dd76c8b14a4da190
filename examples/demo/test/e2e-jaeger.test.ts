// End to end (issue #4): the demo's real AgentSession -> OTLP/HTTP protobuf -> voicetrace's Collector
// sidecar (collector-config/sidecar.yaml + overlays/jaeger.yaml) -> Jaeger v2, read back through
// Jaeger's query API and compared with the demo's own ground truth (traces.jsonl).
// One demo run feeds two pipelines: a redacting sidecar (the default) and one with
// VOICETRACE_REDACT_PII=false, each into its own Jaeger. The same run measures time-to-visible.
import { ATTR, LEFT_OUT, ATTRIBUTE_SPECS } from '@voicetrace/conventions';
import { backendsOrSkip, startCollector, startJaeger, type CollectorHandle, type JaegerHandle, type JaegerSpan, type JaegerTrace } from '@voicetrace/test-backends';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo, type DemoResult } from '../src/run-demo.js';
import { attr, endMs, JAEGER_TYPE, normId, readTruth, type TruthSpan } from './e2e/spans.js';
import { otlpProtoExporter } from './e2e/recording.js';
import { allStrings, median, REDACTED_KEY, sleep, SPOKEN } from './e2e/util.js';

const bins = await backendsOrSkip('collector', 'jaeger');

const SERVICE = 'voicetrace-demo';
/** The agent's BatchSpanProcessor delay for this run (the SDK default is 5 s). */
const AGENT_BATCH_DELAY_MS = 200;
/** The sidecar's batching: the Jaeger exporter's sending_queue.batch.flush_timeout (VOICETRACE_BATCH_TIMEOUT, default 1s). */
const COLLECTOR_BATCH_TIMEOUT = '1s';

const SPEC_TYPE = new Map(ATTRIBUTE_SPECS.map((s) => [s.key, s]));
const JAEGER_TYPE_OF_SPEC: Record<string, string> = { string: 'string', int: 'int64', double: 'float64', boolean: 'bool', 'string[]': 'string' };

describe.skipIf(!bins)('demo -> collector sidecar -> Jaeger (real binaries)', () => {
  let jaegerRedacted: JaegerHandle;
  let jaegerOpen: JaegerHandle;
  let redacting: CollectorHandle;
  let open: CollectorHandle;
  let result: DemoResult;
  let truth: TruthSpan[];
  let traceId: string;
  let redactedTrace: JaegerTrace;
  let openTrace: JaegerTrace;
  /** agent_turn span id -> Date.now() when Jaeger's search first returned it. */
  const firstSeen = new Map<string, number>();
  let pollErrors = 0;
  let polls = 0;

  beforeAll(async () => {
    [jaegerRedacted, jaegerOpen] = await Promise.all([startJaeger(), startJaeger()]);
    [redacting, open] = await Promise.all([
      startCollector({ configFiles: ['sidecar.yaml', 'overlays/jaeger.yaml'], env: { VOICETRACE_JAEGER_ENDPOINT: jaegerRedacted.otlpGrpcEndpoint, VOICETRACE_BATCH_TIMEOUT: COLLECTOR_BATCH_TIMEOUT } }),
      startCollector({ configFiles: ['sidecar.yaml', 'overlays/jaeger.yaml'], env: { VOICETRACE_JAEGER_ENDPOINT: jaegerOpen.otlpGrpcEndpoint, VOICETRACE_REDACT_PII: 'false' } }),
    ]);

    // Time-to-visible: poll Jaeger's search every 50 ms while the call runs and until every
    // agent_turn of the run is visible (bounded).
    let stopAt = Number.POSITIVE_INFINITY;
    let expectedTurns: Set<string> | undefined;
    const poller = (async () => {
      while (Date.now() < stopAt) {
        if (expectedTurns && [...expectedTurns].every((id) => firstSeen.has(id))) break;
        polls++;
        try {
          const found = await jaegerRedacted.findTraces({ service: SERVICE, operation: 'agent_turn', limit: 20 });
          const now = Date.now();
          for (const t of found) for (const s of t.spans) if (s.operationName === 'agent_turn' && !firstSeen.has(s.spanId)) firstSeen.set(s.spanId, now);
        } catch {
          pollErrors++;
        }
        await sleep(50);
      }
    })();

    try {
      result = await runDemo({
        out: mkdtempSync(join(tmpdir(), 'voicetrace-e2e-jaeger-')),
        voicetrace: {
          otlp: { endpoint: redacting.otlpHttpUrl },
          exporters: [otlpProtoExporter(open.otlpHttpUrl)],
          batch: { scheduledDelayMillis: AGENT_BATCH_DELAY_MS },
        },
      });
    } finally {
      stopAt = Date.now() + 30_000;
    }
    truth = readTruth(result.tracesPath);
    expectedTurns = new Set(truth.filter((s) => s.name === 'agent_turn').map((s) => s.spanId));
    await poller;
    traceId = truth[0]!.traceId;
    [redactedTrace, openTrace] = await Promise.all([
      jaegerRedacted.waitForTrace(traceId, { minSpans: truth.length, timeoutMs: 30_000 }),
      jaegerOpen.waitForTrace(traceId, { minSpans: truth.length, timeoutMs: 30_000 }),
    ]);
  }, 170_000);

  afterAll(async () => {
    await Promise.all([redacting?.stop(), open?.stop(), jaegerRedacted?.stop(), jaegerOpen?.stop()]);
  });

  const spanOf = (trace: JaegerTrace) => {
    const map = new Map(trace.spans.map((s) => [s.spanId, s]));
    return (id: string): JaegerSpan => {
      const s = map.get(id);
      if (!s) throw new Error(`span ${id} missing from Jaeger`);
      return s;
    };
  };

  it('the whole session trace survives: same span ids, names and parents as traces.jsonl', () => {
    expect(new Set(truth.map((s) => s.traceId)).size, 'session mode: one trace').toBe(1);
    expect(truth.length).toBeGreaterThan(80);
    const shape = (spans: Array<{ spanId: string; name: string; parent: string }>) => spans.map((s) => `${s.spanId} ${s.name} ${s.parent || '-'}`).sort();
    const want = shape(truth.map((s) => ({ spanId: s.spanId, name: s.name, parent: s.parentSpanId })));
    for (const trace of [redactedTrace, openTrace]) {
      expect(normId(trace.traceId)).toBe(normId(traceId));
      expect(trace.spans).toHaveLength(truth.length);
      expect(shape(trace.spans.map((s) => ({ spanId: s.spanId, name: s.operationName, parent: s.parentSpanId ?? '' })))).toEqual(want);
      for (const s of trace.spans) expect(s.serviceName).toBe(SERVICE);
    }
    // timing survives to the microsecond
    const get = spanOf(redactedTrace);
    for (const s of truth) {
      const j = get(s.spanId);
      expect(Math.abs(j.startTime - Number(s.startNs / 1000n)), s.name).toBeLessThanOrEqual(1);
      expect(Math.abs(j.duration - Number((s.endNs - s.startNs) / 1000n)), s.name).toBeLessThanOrEqual(1);
    }
  });

  it('every attribute keeps its value and wire type; stage attributes have their conventions type and unit', () => {
    const get = spanOf(redactedTrace);
    let checkedSeconds = 0;
    for (const s of truth) {
      const j = get(s.spanId);
      expect(j.tags[ATTR.SESSION_ID], `${s.name}: session.id`).toBe(result.sessionId);
      expect(j.tags[ATTR.STAGE], `${s.name}: voicetrace.stage`).toBe(attr(s, ATTR.STAGE));
      for (const [key, a] of Object.entries(s.attributes)) {
        if (REDACTED_KEY(key)) continue;
        expect(j.tagTypes[key], `${s.name}.${key} type`).toBe(JAEGER_TYPE[a.kind]);
        if (a.kind === 'array') expect(JSON.parse(j.tags[key] as string), `${s.name}.${key}`).toEqual(a.value);
        else expect(j.tags[key], `${s.name}.${key}`).toBe(a.value);
        const spec = SPEC_TYPE.get(key);
        if (spec) {
          // OTel JS exports an integral JS number as an int: a double that happens to be whole arrives as int64
          const wanted = JAEGER_TYPE_OF_SPEC[spec.type];
          const ok = j.tagTypes[key] === wanted || (wanted === 'float64' && j.tagTypes[key] === 'int64' && Number.isInteger(j.tags[key]));
          expect(ok, `${s.name}.${key}: ${j.tagTypes[key]} for a ${spec.type}`).toBe(true);
        }
        if (spec?.unit === 's' || /^voicetrace[.](session[.])?latency[.]/.test(key)) {
          const v = j.tags[key] as number;
          expect(typeof v, key).toBe('number');
          if (spec?.brief.includes('epoch')) {
            // a timestamp in epoch seconds, within the session
            expect(Math.abs(v - Number(s.startNs / 1_000_000n) / 1000), `${s.name}.${key}`).toBeLessThan(120);
          } else if (key === ATTR.LATENCY_ANCHOR_SHIFT) {
            // signed by definition (negative: the SDK placed the end of speech before its VAD)
            expect(Math.abs(v), `${s.name}.${key} (seconds, not ms)`).toBeLessThan(60);
          } else {
            expect(v, `${s.name}.${key} (seconds)`).toBeGreaterThanOrEqual(0);
            expect(v, `${s.name}.${key} (seconds, not ms)`).toBeLessThan(60);
          }
          checkedSeconds++;
        }
      }
    }
    expect(checkedSeconds).toBeGreaterThan(50);

    // the user-perceived wait: a float in seconds on every agent_turn that played audio
    const replies = redactedTrace.spans.filter((s) => s.operationName === 'agent_turn' && s.tags[ATTR.LATENCY_E2E] !== undefined);
    expect(replies).toHaveLength(6);
    for (const r of replies) {
      expect(r.tagTypes[ATTR.LATENCY_E2E]).toBe('float64');
      expect(r.tags[ATTR.LATENCY_E2E] as number).toBeGreaterThan(0.1);
      expect(r.tags[ATTR.LATENCY_E2E] as number).toBeLessThan(10);
      expect(r.tags[ATTR.STAGE]).toBe('agent_turn');
      expect(r.tagTypes[ATTR.TURN_INTERRUPTED]).toBe('bool');
    }
    expect(replies.filter((r) => r.tags[ATTR.TURN_INTERRUPTED] === true)).toHaveLength(1);
    // sent once: the SDK's own forms of values voicetrace carries never reach the backend
    for (const entry of LEFT_OUT) {
      for (const s of redactedTrace.spans.filter((x) => x.operationName === entry.span)) expect(s.tags[entry.sdk], `${entry.span}.${entry.sdk}`).toBeUndefined();
    }
    const stages = new Set(redactedTrace.spans.map((s) => s.tags[ATTR.STAGE]).filter(Boolean));
    expect([...stages].sort()).toEqual(['agent_turn', 'eou', 'handoff', 'interruption', 'llm', 'session', 'stt', 'tool', 'tts', 'user_turn', 'vad']);
  });

  it('redaction on (default): no lk.pii.* key, no tool arguments, none of the spoken text in Jaeger', async () => {
    // the ground truth has them, so their absence is the collector's doing
    const truthKeys = new Set(truth.flatMap((s) => Object.keys(s.attributes)));
    expect(truthKeys).toContain('lk.pii.user_transcript');
    expect(truthKeys).toContain('gen_ai.tool.call.arguments');
    const truthText = allStrings(truth.map((s) => s.attributes));
    for (const said of SPOKEN) expect(truthText.some((t) => t.includes(said)), `traces.jsonl holds "${said}"`).toBe(true);

    const get = spanOf(redactedTrace);
    for (const s of truth) {
      const tags = Object.keys(get(s.spanId).tags);
      for (const key of tags) {
        expect(key.startsWith('lk.pii.') || key.includes('.pii.'), `${s.name}: ${key}`).toBe(false);
        expect(['gen_ai.tool.call.arguments', 'gen_ai.tool.call.result', 'gen_ai.input.messages', 'gen_ai.output.messages'], `${s.name}: ${key}`).not.toContain(key);
      }
      // nothing else was deleted
      for (const key of Object.keys(s.attributes).filter((k) => !REDACTED_KEY(k))) expect(tags, `${s.name} kept ${key}`).toContain(key);
    }
    const raw = (await jaegerRedacted.getTraceJson(traceId))!;
    const text = allStrings(JSON.parse(raw));
    for (const said of SPOKEN) {
      expect(text.filter((t) => t.includes(said)), `"${said}" in Jaeger`).toEqual([]);
      expect(raw).not.toContain(said);
    }
  });

  it('redaction off (VOICETRACE_REDACT_PII=false): every attribute, the transcripts and tool arguments reach Jaeger', async () => {
    const get = spanOf(openTrace);
    for (const s of truth) {
      const j = get(s.spanId);
      for (const [key, a] of Object.entries(s.attributes)) {
        if (a.kind === 'array') expect(JSON.parse(j.tags[key] as string), `${s.name}.${key}`).toEqual(a.value);
        else expect(j.tags[key], `${s.name}.${key}`).toBe(a.value);
      }
    }
    const userTurns = openTrace.spans.filter((s) => s.operationName === 'user_turn');
    expect(userTurns.map((s) => s.tags['lk.pii.user_transcript'])).toContain('Hi, what is the weather like in Paris today?');
    const tool = openTrace.spans.find((s) => s.operationName === 'function_tool' && String(s.tags['gen_ai.tool.call.arguments']).includes('Paris'))!;
    expect(tool.tags['gen_ai.tool.call.arguments']).toContain('"city":"Paris"');
    const text = allStrings(JSON.parse((await jaegerOpen.getTraceJson(traceId))!));
    for (const said of SPOKEN) expect(text.some((t) => t.includes(said)), `"${said}" in Jaeger`).toBe(true);
  });

  it('measures time-to-visible of each agent_turn in Jaeger (no timing assertion)', () => {
    const turns = truth.filter((s) => s.name === 'agent_turn');
    const missing = turns.filter((s) => !firstSeen.has(s.spanId));
    expect(missing.map((s) => s.spanId), 'every agent_turn became visible').toEqual([]);
    const delays = turns.map((s) => firstSeen.get(s.spanId)! - endMs(s));
    const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.log(
      `[e2e] time-to-visible of ${turns.length} agent_turn spans (span end in traces.jsonl -> first returned by Jaeger's search, polled every 50 ms, ${polls} polls, ${pollErrors} errors): ` +
        `median ${fmt(median(delays))}, max ${fmt(Math.max(...delays))}, min ${fmt(Math.min(...delays))}; ` +
        `agent BatchSpanProcessor scheduledDelayMillis=${AGENT_BATCH_DELAY_MS}, sidecar Jaeger exporter sending_queue.batch flush_timeout=${COLLECTOR_BATCH_TIMEOUT} (min_size 512), ` +
        `Jaeger's own batch 100 ms; demo ${result.seconds.toFixed(1)} s`,
    );
    for (const d of delays) expect(d).toBeGreaterThan(-1000); // clocks: same host
  });
});
