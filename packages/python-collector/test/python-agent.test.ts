// A real Python AgentSession (livekit-agents 1.8.9 from PyPI, in a cached venv) runs the demo's
// script offline with the scripted providers of examples/python-agent, exports OTLP to the real
// Collector as shipped (sidecar + Python overlay + Jaeger + LangFuse overlays), and on to the real
// Jaeger and the LangFuse contract server: the stage spans, the latency in seconds equal to the
// SDK's own measurements, usage and cost, one session id, and LangFuse's types.
import { PriceBook } from '@voicetrace/core';
import { startLangfuseContractServer, type LangfuseContractServer } from '@voicetrace/langfuse-contract';
import { backendsOrSkip, pythonOrSkip, startCollector, startJaeger, type CollectorHandle, type JaegerHandle, type JaegerSpan } from '@voicetrace/test-backends';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PYTHON_AGENT_DIR, REQUIREMENTS_PATH } from '../src/paths.js';

const python = await pythonOrSkip(REQUIREMENTS_PATH);
const bins = python ? await backendsOrSkip('collector', 'jaeger') : undefined;
const KEYS = { publicKey: 'pk-lf-python', secretKey: 'sk-lf-python' };
const SESSION = `python-call-${Date.now()}`;

interface Summary {
  session_id: string;
  metrics: Array<Record<string, number | string | boolean | Record<string, string>>>;
}

let langfuse: LangfuseContractServer;
let jaeger: JaegerHandle;
let collector: CollectorHandle;
let summary: Summary;
let spans: JaegerSpan[] = [];

function runCall(otlp: string, summaryPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(python!, ['scripted_call.py', '--session-id', SESSION, '--otlp', otlp, '--summary', summaryPath], { cwd: PYTHON_AGENT_DIR, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`scripted_call.py exited ${code}:\n${stderr.slice(-3000)}`));
    });
  });
}

beforeAll(async () => {
  if (!bins) return;
  langfuse = await startLangfuseContractServer(KEYS);
  jaeger = await startJaeger();
  collector = await startCollector({
    configFiles: ['sidecar.yaml', 'overlays/python-agents.yaml', 'overlays/jaeger.yaml', 'overlays/langfuse.yaml'],
    env: {
      VOICETRACE_JAEGER_ENDPOINT: jaeger.otlpGrpcEndpoint,
      LANGFUSE_BASE_URL: langfuse.baseUrl,
      LANGFUSE_AUTH: Buffer.from(`${KEYS.publicKey}:${KEYS.secretKey}`).toString('base64'),
      VOICETRACE_BATCH_TIMEOUT: '200ms',
    },
  });
  const summaryPath = join(mkdtempSync(join(tmpdir(), 'voicetrace-python-call-')), 'summary.json');
  await runCall(collector.otlpHttpUrl, summaryPath);
  summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as Summary;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !langfuse.spans.some((s) => s.name === 'agent_session')) await new Promise((r) => setTimeout(r, 250));
  const [root] = langfuse.spans.filter((s) => s.name === 'agent_session');
  spans = root ? [...(await jaeger.waitForTrace(root.traceId, { minSpans: langfuse.spans.length, timeoutMs: 30_000 })).spans] : [];
}, 300_000);

afterAll(async () => {
  await collector?.stop();
  await jaeger?.stop();
  await langfuse?.close();
});

const named = (name: string) => spans.filter((s) => s.operationName === name).sort((a, b) => a.startTime - b.startTime);
const metricsOf = (type: string) => summary.metrics.filter((m) => m.type === type);

describe.skipIf(!bins)('a Python agent\'s call through the shipped Collector configuration', () => {
  it('arrives whole in Jaeger and in LangFuse, one trace with one session id on every span', () => {
    expect(spans.length).toBeGreaterThan(60);
    expect(spans.length).toBe(langfuse.spans.length);
    expect(new Set(spans.map((s) => s.tags['session.id']))).toEqual(new Set([SESSION]));
    expect(new Set(langfuse.observations().map((o) => o.sessionId))).toEqual(new Set([SESSION]));
  });

  it('every stage span carries its stage, as the Node path names them', () => {
    const stages = (stage: string) => spans.filter((s) => s.tags['voicetrace.stage'] === stage).map((s) => s.operationName);
    expect(new Set(stages('session'))).toEqual(new Set(['agent_session']));
    expect(stages('user_turn')).toHaveLength(5);
    expect(stages('agent_turn')).toHaveLength(5);
    expect(stages('eou')).toHaveLength(5);
    expect(new Set(stages('llm'))).toEqual(new Set(['llm_request']));
    expect(stages('llm')).toHaveLength(metricsOf('llm_metrics').length);
    expect(stages('tts')).toHaveLength(metricsOf('tts_metrics').length);
    expect(stages('tool')).toHaveLength(2);
    expect(stages('handoff')).toHaveLength(1);
  });

  it('latency attributes are seconds (doubles) equal to what the SDK measured', () => {
    const eou = metricsOf('eou_metrics');
    const users = named('user_turn');
    expect(users).toHaveLength(eou.length);
    users.forEach((span, i) => {
      expect(span.tagTypes['voicetrace.latency.eou_delay']).toBe('float64');
      expect(span.tags['voicetrace.latency.eou_delay']).toBeCloseTo(eou[i]!.end_of_utterance_delay as number, 3);
      expect(span.tags['voicetrace.latency.transcription_delay']).toBeCloseTo(eou[i]!.transcription_delay as number, 3);
    });
    for (const turn of named('agent_turn')) {
      expect(turn.tags['voicetrace.latency.e2e']).toBe(turn.tags['lk.e2e_latency']);
      expect(turn.tags['voicetrace.latency.e2e'] as number).toBeGreaterThan(0.3);
      expect(turn.tags['voicetrace.latency.e2e'] as number).toBeLessThan(5);
      expect(turn.tags['voicetrace.latency.eou_delay']).toBeCloseTo(turn.tags['lk.end_of_turn_delay'] as number, 9);
    }
    const llm = metricsOf('llm_metrics');
    const requests = named('llm_request');
    const ttfts = requests.map((s) => s.tags['gen_ai.response.time_to_first_chunk'] as number).sort();
    expect(ttfts).toEqual(llm.map((m) => m.ttft as number).sort());
    const durations = requests.map((s) => s.tags['voicetrace.duration'] as number).sort();
    expect(durations).toEqual(llm.map((m) => m.duration as number).sort());
  });

  it('usage and cost: each request priced from the table, the call\'s total equal to its metrics at table prices', () => {
    const book = new PriceBook();
    const llmCost = metricsOf('llm_metrics').reduce((sum, m) => sum + book.cost({ provider: 'openai', model: 'gpt-4o-mini' }, { inputTokens: m.prompt_tokens as number, cachedInputTokens: m.prompt_cached_tokens as number, outputTokens: m.completion_tokens as number })!, 0);
    const ttsCost = metricsOf('tts_metrics').reduce((sum, m) => sum + book.cost({ provider: 'cartesia', model: 'sonic-2' }, { characters: m.characters_count as number })!, 0);
    const sum = (name: string) => named(name).reduce((total, s) => total + (s.tags['voicetrace.cost'] as number), 0);
    expect(sum('llm_request')).toBeCloseTo(llmCost, 10);
    expect(sum('tts_request')).toBeCloseTo(ttsCost, 10);
    for (const span of named('llm_request')) expect(span.tags['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    for (const span of named('tts_request')) expect(span.tags['voicetrace.tts.characters']).toBeGreaterThan(0);
  });

  it('LangFuse: requests are generations with model, usage, cost and TTFT; user_turn and the wrappers are plain spans; tools are tools; turns are agents', () => {
    const observations = langfuse.observations();
    const typeOf = (name: string) => new Set(observations.filter((o) => o.spanName === name).map((o) => o.type));
    expect(new Set(observations.filter((o) => o.type === 'GENERATION').map((o) => o.spanName))).toEqual(new Set(['llm_request', 'tts_request']));
    for (const name of ['user_turn', 'llm_node', 'tts_node', 'tts_stream_adapter', 'llm_request_run', 'tts_request_run']) expect(typeOf(name), name).toEqual(new Set(['SPAN']));
    expect(typeOf('function_tool')).toEqual(new Set(['TOOL']));
    expect(typeOf('agent_turn')).toEqual(new Set(['AGENT']));
    for (const o of observations.filter((x) => x.type === 'GENERATION')) {
      expect(o.model, o.spanName).toBeTruthy();
      expect(o.totalCost, o.spanName).toBeGreaterThan(0);
      expect(o.totalFilledByLangfuse).toBe(false);
      expect(o.level).not.toBe('DEBUG');
      const span = langfuse.spans.find((s) => s.spanId === o.id)!;
      expect(Math.abs(o.timeToFirstTokenMs! - (span.attributes['gen_ai.response.time_to_first_chunk'] as number) * 1000)).toBeLessThanOrEqual(1);
    }
    expect(observations.filter((o) => o.wouldTokenize).map((o) => o.spanName)).toEqual([]);
    expect(langfuse.traces().map((t) => t.name)).toContain('voice-session');
  });
});
