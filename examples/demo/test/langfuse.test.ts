// The demo's voice session, as LangFuse would ingest it: sent directly by the agent and through the
// real Collector (sidecar + LangFuse overlay), each to a contract server that enforces exactly what
// LangFuse documents for its OTel endpoint and stores the observations and traces LangFuse's own
// ingestion code would make of them (packages/langfuse-contract/src/ingestion.ts).
import { startLangfuseContractServer, type IngestedObservation, type LangfuseContractServer, type ReceivedSpan } from '@voicetrace/langfuse-contract';
import { backendsOrSkip, startCollector, type CollectorHandle } from '@voicetrace/test-backends';
import type { SessionReportJson } from '@voicetrace/report';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo, type DemoResult } from '../src/run-demo.js';

const KEYS = { publicKey: 'pk-lf-demo', secretKey: 'sk-lf-demo' };
const bins = await backendsOrSkip('collector');

let direct: LangfuseContractServer;
let viaCollector: LangfuseContractServer;
let sidecar: CollectorHandle | undefined;
let result: DemoResult;

const json = (value: unknown) => JSON.parse(String(value)) as Record<string, number>;
const of = (server: LangfuseContractServer, name: string) => server.spans.filter((s) => s.name === name);
const type = (span: ReceivedSpan) => span.attributes['langfuse.observation.type'];
const spanOf = (observation: IngestedObservation) => direct.spans.find((s) => s.spanId === observation.id)!;
// the stages a user reads in LangFuse (plumbing such as *_run, *_speaking, on_enter may stay DEBUG)
const READ_STAGES = new Set(['session', 'user_turn', 'vad', 'stt', 'eou', 'agent_turn', 'llm', 'realtime', 'tts', 'interruption', 'tool', 'handoff']);

beforeAll(async () => {
  direct = await startLangfuseContractServer(KEYS);
  viaCollector = await startLangfuseContractServer(KEYS);
  if (bins) {
    sidecar = await startCollector({
      configFiles: ['sidecar.yaml', 'overlays/langfuse.yaml'],
      env: { LANGFUSE_BASE_URL: viaCollector.baseUrl, LANGFUSE_AUTH: Buffer.from(`${KEYS.publicKey}:${KEYS.secretKey}`).toString('base64') },
    });
  }
  result = await runDemo({
    out: mkdtempSync(join(tmpdir(), 'voicetrace-langfuse-')),
    voicetrace: {
      langfuse: { ...KEYS, baseUrl: direct.baseUrl },
      otlp: sidecar ? { endpoint: sidecar.otlpHttpUrl } : false,
      release: 'demo-1',
      batch: { scheduledDelayMillis: 200 },
    },
  });
  if (sidecar) {
    const deadline = Date.now() + 20_000;
    const expected = of(direct, 'agent_session').length;
    while (Date.now() < deadline && of(viaCollector, 'agent_session').length < expected) await new Promise((r) => setTimeout(r, 200));
  }
}, 180_000);

afterAll(async () => {
  await sidecar?.stop();
  await direct?.close();
  await viaCollector?.close();
});

describe('scores: LangFuse users can filter and alert on calls by latency', () => {
  it('each played reply is scored on its agent_turn observation: wait, target met, interrupted; the session: p95 wait and cost', () => {
    const replies = result.summary.turns.flatMap((t) => t.replies).filter((r) => r.latency?.e2e !== undefined);
    const turnScores = direct.scores.filter((s) => s.name?.startsWith('voice.turn.'));
    expect(turnScores).toHaveLength(replies.length * 3);
    for (const reply of replies) {
      const mine = turnScores.filter((s) => s.observationId === reply.span!.spanId);
      expect(mine.map((s) => s.name).sort()).toEqual(['voice.turn.e2e_latency_s', 'voice.turn.interrupted', 'voice.turn.latency_target_met']);
      expect(mine.every((s) => s.traceId === reply.span!.traceId)).toBe(true);
      expect(mine.find((s) => s.name === 'voice.turn.e2e_latency_s')!.value).toBe(reply.latency!.e2e);
      expect(mine.find((s) => s.name === 'voice.turn.latency_target_met')!.value).toBe(reply.latency!.e2e! <= 1.5 ? 1 : 0);
      expect(mine.find((s) => s.name === 'voice.turn.interrupted')!.value).toBe(reply.interrupted ? 1 : 0);
      // the observation the score names is the agent_turn span LangFuse received
      expect(direct.spans.find((s) => s.spanId === reply.span!.spanId)?.name).toBe('agent_turn');
    }
    const session = direct.scores.filter((s) => s.name?.startsWith('voice.session.'));
    expect(session.map((s) => [s.name, s.sessionId, s.value]).sort()).toEqual(
      [
        ['voice.session.cost_usd', result.sessionId, result.summary.totalCost],
        ['voice.session.p95_wait_s', result.sessionId, result.summary.latency.e2e.p95],
        // each quality signal that fired, with its count
        ...Object.entries(result.summary.signals).map(([name, totals]) => [`voice.session.signal.${name}`, result.sessionId, totals!.count]),
      ].sort(),
    );
  });

  it('each quality signal is scored on its turn\'s agent_turn observation: its seconds, or 1', () => {
    const records = result.summary.signalLog;
    expect(records.length).toBeGreaterThan(0);
    const signalScores = direct.scores.filter((s) => s.name?.startsWith('voice.signal.'));
    expect(signalScores).toHaveLength(records.length);
    for (const record of records) {
      const turn = result.summary.turns.find((t) => t.index === record.turnIndex)!;
      const spans = new Set(turn.replies.map((r) => r.span?.spanId));
      const score = signalScores.find((s) => s.name === `voice.signal.${record.name}` && spans.has(s.observationId));
      expect(score, `${record.turnIndex}:${record.name}`).toBeDefined();
      expect(score!.value).toBe(record.seconds ?? 1);
      expect(direct.spans.find((s) => s.spanId === score!.observationId)?.name).toBe('agent_turn');
    }
  });
});

describe('hear the turn in LangFuse: each clip attached to its turn\'s observation (media API)', () => {
  it('the caller\'s speech is the user_turn\'s input, the reply the agent_turn\'s output: the same bytes, uploaded, linked', () => {
    const report = JSON.parse(readFileSync(result.report.json!, 'utf8')) as SessionReportJson;
    const dir = dirname(result.report.json!);
    const expected = report.voicetrace.turns.flatMap((t) => [
      ...(t.user?.clip ? [{ clip: t.user.clip, trace: t.user.trace!, field: 'input', span: 'user_turn' }] : []),
      ...t.replies.filter((r) => r.clip).map((r) => ({ clip: r.clip!, trace: r.trace!, field: 'output', span: 'agent_turn' })),
    ]);
    expect(expected.length).toBe(12); // 6 turns, both sides
    const bytesOf = (path: string): Buffer => readFileSync(join(dir, path));
    // LangFuse's media API is content-addressed: two byte-identical clips (the caller's turns 1 and 4 say the same
    // words, and about one run in six their clips match to the sample) are one media object with two links
    const distinct = new Set(expected.map(({ clip }) => createHash('sha256').update(bytesOf(clip.path!)).digest('base64')));
    const media = direct.media();
    expect(media).toHaveLength(distinct.size);
    for (const { clip, trace, field, span } of expected) {
      expect(clip.langfuse, clip.path).toBe('uploaded');
      const bytes = bytesOf(clip.path!);
      const object = media.find((m) => m.links.some((l) => l.observationId === trace.span_id && l.field === field));
      expect(object, clip.path).toBeDefined();
      expect(object!.bytes?.equals(bytes), clip.path).toBe(true);
      expect(object).toMatchObject({ contentType: 'audio/wav', contentLength: bytes.length, uploadHttpStatus: 200 });
      expect(object!.links).toContainEqual({ traceId: trace.trace_id, observationId: trace.span_id, field });
      // the observation it is linked to is that turn's span, as LangFuse stored it
      expect(direct.spans.find((s) => s.spanId === trace.span_id)?.name).toBe(span);
    }
  });
});

describe('direct export: the demo session reads well in LangFuse', () => {
  it('every request was accepted (auth, content type, valid ids) and carried the ingestion header', () => {
    expect(direct.requests.length).toBeGreaterThan(0);
    // 200, and 201 where LangFuse creates (the media API's upload URL for each clip)
    expect(direct.requests.filter((r) => r.status !== (r.path === '/api/public/media' ? 201 : 200))).toEqual([]);
    expect(direct.spans.length).toBeGreaterThan(50);
  });

  it('one session: every observation carries the same session id, the root names the trace', () => {
    expect(new Set(direct.spans.map((s) => s.attributes['session.id']))).toEqual(new Set([result.sessionId]));
    const [root] = of(direct, 'agent_session');
    expect(root?.attributes['langfuse.trace.name']).toBe('voice-session');
    expect(root?.attributes['langfuse.trace.input']).toBe('Hi, what is the weather like in Paris today?');
    expect(root?.attributes['langfuse.release']).toBe('demo-1');
    expect(root?.attributes['user.id']).toBe('caller-42');
  });

  it('each LLM call is one generation with model, usage, cost and time to first token', () => {
    const llm = of(direct, 'llm_request');
    expect(llm.length).toBeGreaterThanOrEqual(8);
    for (const span of llm) {
      expect(type(span)).toBe('generation');
      expect(span.attributes['gen_ai.request.model']).toBe('gpt-4o-mini');
      const usage = json(span.attributes['langfuse.observation.usage_details']);
      expect(usage.input! + usage.input_cached_tokens!).toBe(span.attributes['gen_ai.usage.input_tokens']);
      expect(json(span.attributes['langfuse.observation.cost_details']).total).toBeGreaterThan(0);
      expect(typeof span.attributes['langfuse.observation.completion_start_time']).toBe('string');
      expect(span.attributes['gen_ai.response.time_to_first_chunk']).toBeGreaterThan(0);
    }
    // the SDK's wrappers are not second generations of the same request
    expect(of(direct, 'llm_node').every((s) => type(s) === 'span')).toBe(true);
  });

  it('STT and TTS are generations with their own usage units; tools are tools; turns carry the conversation', () => {
    const tts = of(direct, 'tts_request').filter((s) => type(s) === 'generation');
    expect(tts.length).toBeGreaterThanOrEqual(6);
    for (const span of tts) expect(json(span.attributes['langfuse.observation.usage_details'])).toMatchObject({ tts_characters: expect.any(Number), tts_audio_ms: expect.any(Number), total: 0 });
    for (const span of of(direct, 'stt_request')) expect(json(span.attributes['langfuse.observation.usage_details']).stt_audio_ms).toBeGreaterThan(0);
    expect(of(direct, 'function_tool').every((s) => s.attributes['gen_ai.operation.name'] === 'execute_tool')).toBe(true);
    const replies = of(direct, 'agent_turn').filter((s) => s.attributes['langfuse.observation.output']);
    expect(replies.length).toBeGreaterThanOrEqual(6);
    expect(of(direct, 'agent_turn').filter((s) => s.attributes['langfuse.observation.level'] === 'WARNING')).toHaveLength(1);
  });
});

describe('agent turns and generations read whole in LangFuse', () => {
  it('every agent turn has an input and an output a reader understands; a tool step shows the calls it made', () => {
    const turns = of(direct, 'agent_turn').filter((s) => (s.attributes['voicetrace.turn.index'] as number) > 0);
    expect(turns.length).toBeGreaterThanOrEqual(8);
    for (const turn of turns) {
      expect(turn.attributes['langfuse.observation.input'], turn.spanId).toBeTruthy();
      expect(turn.attributes['langfuse.observation.output'], turn.spanId).toBeTruthy();
    }
    const toolSteps = turns.filter((t) => String(t.attributes['langfuse.observation.output']).startsWith('[{"name"'));
    expect(toolSteps.map((t) => JSON.parse(String(t.attributes['langfuse.observation.output']))[0].name).sort()).toEqual(['get_weather', 'transfer_to_billing']);
    expect(JSON.parse(String(toolSteps.find((t) => String(t.attributes['langfuse.observation.output']).includes('get_weather'))!.attributes['langfuse.observation.output']))[0].arguments).toEqual({ city: 'Paris' });
  });

  it('every LLM generation carries the conversation as chat messages: objects, system first, tool calls with object arguments', () => {
    for (const span of of(direct, 'llm_request')) {
      const input = JSON.parse(String(span.attributes['langfuse.observation.input'])) as Array<Record<string, unknown>>;
      expect(input[0]).toMatchObject({ role: 'system' });
      expect(input.every((m) => typeof m === 'object' && typeof m.role === 'string')).toBe(true);
      const output = JSON.parse(String(span.attributes['langfuse.observation.output'])) as Array<Record<string, unknown>>;
      expect(output[0]).toMatchObject({ role: 'assistant' });
    }
    const withTool = of(direct, 'llm_request').map((s) => JSON.parse(String(s.attributes['langfuse.observation.input'])) as Array<Record<string, unknown>>).find((m) => m.some((x) => x.role === 'tool'))!;
    const call = withTool.find((m) => Array.isArray(m.tool_calls))!.tool_calls as Array<{ function: { name: string; arguments: unknown } }>;
    expect(call[0]!.function).toEqual({ name: 'get_weather', arguments: { city: 'Paris' } });
    expect(withTool.find((m) => m.role === 'tool')!.content).toEqual({ city: 'Paris', temperatureC: 18, condition: 'sunny' });
  });
});

describe('direct export, as LangFuse stores it (its ingestion rules, ported in the contract server)', () => {
  const observations = () => direct.observations();
  const generations = () => observations().filter((o) => o.type === 'GENERATION');

  it('every span is one observation; the generations are exactly the LLM, STT and TTS requests', () => {
    expect(observations()).toHaveLength(direct.spans.length);
    const names = new Set(generations().map((o) => o.spanName));
    expect(names).toEqual(new Set(['llm_request', 'stt_request', 'tts_request']));
    expect(generations().filter((o) => o.spanName === 'llm_request')).toHaveLength(of(direct, 'llm_request').length);
    expect(generations().filter((o) => o.spanName === 'stt_request')).toHaveLength(of(direct, 'stt_request').length);
  });

  it('no generation is hidden, and every stage a user reads shows at the default level (or louder)', () => {
    for (const o of generations()) expect(o.level, `${o.spanName} ${o.id}`).not.toBe('DEBUG');
    const read = observations().filter((o) => READ_STAGES.has(String(spanOf(o).attributes['voicetrace.stage'])) && spanOf(o).attributes['voicetrace.usage.counted_elsewhere'] !== true);
    expect(new Set(read.map((o) => o.spanName))).toEqual(
      new Set(['agent_session', 'user_turn', 'vad_inference', 'stt_request', 'eou_detection', 'agent_turn', 'llm_request', 'tts_request', 'function_tool', 'agent_handoff', 'interruption_detection']),
    );
    for (const o of read) expect(o.level, o.spanName).not.toBe('DEBUG');
    // one interrupted reply, as a warning; nothing failed
    expect(observations().filter((o) => o.level === 'WARNING' && o.spanName === 'agent_turn')).toHaveLength(1);
    expect(observations().filter((o) => o.level === 'ERROR')).toHaveLength(0);
  });

  it('every generation has a completion start, and LangFuse\'s TTFT equals the span\'s own within 1 ms', () => {
    for (const o of generations()) {
      const span = spanOf(o);
      expect(o.completionStartTime, `${o.spanName} ${o.id}`).not.toBeNull();
      const ttfc = span.attributes['gen_ai.response.time_to_first_chunk'];
      // STT has no time to first chunk: its completion start is the final transcript, the span's end
      const own = typeof ttfc === 'number' ? ttfc * 1000 : (Number(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)) / 1e6);
      expect(Math.abs(o.timeToFirstTokenMs! - own), `${o.spanName} ${o.id}: LangFuse ${o.timeToFirstTokenMs} ms, own ${own} ms`).toBeLessThanOrEqual(1);
      if (o.spanName !== 'stt_request') expect(typeof ttfc).toBe('number');
    }
  });

  it('every generation sends its own total, so no total mixes units: tokens for LLMs, 0 for STT/TTS without tokens', () => {
    for (const o of generations()) {
      expect(o.totalFilledByLangfuse, `${o.spanName} ${o.id}`).toBe(false);
      expect(o.providedUsageDetails.total).toBeDefined();
      const span = spanOf(o);
      const tokens = Number(span.attributes['gen_ai.usage.input_tokens'] ?? 0) + Number(span.attributes['gen_ai.usage.output_tokens'] ?? 0);
      expect(o.usageDetails.total, o.spanName).toBe(tokens);
      expect(o.totalCost).toBeGreaterThan(0);
      expect(o.model).toBeTruthy();
    }
    // the trace's total usage (LangFuse sums usage_details.total) is the LLM tokens, its cost every stage's cost
    const sum = (f: (o: IngestedObservation) => number) => observations().reduce((total, o) => total + f(o), 0);
    const session = of(direct, 'agent_session')[0]!.attributes;
    expect(sum((o) => o.usageDetails.total ?? 0)).toBe(Number(session['voicetrace.session.llm.input_tokens']) + Number(session['voicetrace.session.llm.output_tokens']));
    expect(sum((o) => o.totalCost ?? 0)).toBeCloseTo(Number(session['voicetrace.session.cost']), 9);
    // and nothing else gets usage or cost: LangFuse would tokenize no observation itself
    expect(observations().filter((o) => o.wouldTokenize)).toEqual([]);
  });

  it('only the agent turns read as agents; plumbing is a span, tools are tools', () => {
    const agents = observations().filter((o) => o.type === 'AGENT');
    expect(new Set(agents.map((o) => o.spanName))).toEqual(new Set(['agent_turn']));
    expect(agents).toHaveLength(of(direct, 'agent_turn').length);
    for (const name of ['start_agent_activity', 'on_enter', 'on_exit', 'drain_agent_activity', 'llm_node', 'tts_node', 'user_turn', 'agent_handoff']) {
      for (const o of observations().filter((x) => x.spanName === name)) expect(o.type, name).toBe('SPAN');
    }
    const tools = observations().filter((o) => o.spanName === 'function_tool');
    expect(tools.length).toBeGreaterThan(0);
    for (const o of tools) expect([o.type, o.name]).toEqual(['TOOL', spanOf(o).attributes['gen_ai.tool.name']]);
  });

  it('one trace per user turn (plus the call\'s own), each named by its root, all in one session with its user', () => {
    const traces = direct.traces();
    const turns = result.summary.userTurns;
    expect(traces).toHaveLength(turns + 1);
    const call = traces.filter((t) => t.name === 'voice-session');
    expect(call).toHaveLength(1);
    expect(call[0]).toMatchObject({ sessionId: result.sessionId, userId: 'caller-42', tags: ['voice'], release: 'demo-1', environment: 'demo', input: 'Hi, what is the weather like in Paris today?' });
    const turnTraces = traces.filter((t) => t.name === 'voice-turn');
    expect(turnTraces).toHaveLength(turns);
    for (const t of turnTraces) expect(t).toMatchObject({ sessionId: result.sessionId, userId: 'caller-42', tags: ['voice'] });
    expect(turnTraces.map((t) => t.input)).toContain('Why was I charged twice this month?');
    expect(traces.every((t) => t.events.root === 1)).toBe(true);
    // LangFuse's v4 model groups sessions and users by each observation's own ids: every one carries both
    expect(observations().every((o) => o.sessionId === result.sessionId && o.userId === 'caller-42')).toBe(true);
    // trace attributes (name, tags, metadata, input/output) only on the roots
    expect([...new Set(direct.spans.filter((s) => Object.keys(s.attributes).some((k) => k.startsWith('langfuse.trace.'))).map((s) => s.name))].sort()).toEqual(['agent_session', 'user_turn']);
    const perTrace = new Map<string, number>();
    for (const o of observations()) perTrace.set(o.traceId, (perTrace.get(o.traceId) ?? 0) + 1);
    console.log(`[langfuse] ${turns}-turn demo: observations per LangFuse trace ${JSON.stringify([...perTrace.values()])}`);
  });
});

describe.skipIf(!bins)('through the real Collector (sidecar + LangFuse overlay)', () => {
  it('the same session arrives, generic collector, mapping intact, content deleted by the default redaction', () => {
    expect(viaCollector.requests.every((r) => r.status === 200)).toBe(true);
    const ids = (server: LangfuseContractServer) => new Set(server.spans.map((s) => s.spanId));
    expect(ids(viaCollector)).toEqual(ids(direct));
    const llm = of(viaCollector, 'llm_request');
    expect(llm.every((s) => type(s) === 'generation' && s.attributes['langfuse.observation.usage_details'])).toBe(true);
    expect(viaCollector.spans.some((s) => s.attributes['langfuse.observation.input'] !== undefined)).toBe(false);
  });
});
