// LangfuseScores (built on @langfuse/client) against the contract server's POST /api/public/scores, which
// validates as LangFuse's public API does (@voicetrace/langfuse-contract, src/scores.ts).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LANGFUSE_SCORE_NAMES, LangfuseScores } from '../src/scores.js';
import { startLangfuseContractServer, type LangfuseContractServer } from '@voicetrace/langfuse-contract';

const KEYS = { publicKey: 'pk-lf-scores', secretKey: 'sk-lf-scores' };
const TRACE = '0af7651916cd43dd8448eb211c80319c';
const TURN_SPAN = 'b7ad6b7169203331';
let server: LangfuseContractServer;

beforeAll(async () => {
  server = await startLangfuseContractServer(KEYS);
});
afterAll(() => server.close());
beforeEach(() => server.reset());

const post = (body: unknown, authorization = `Basic ${Buffer.from(`${KEYS.publicKey}:${KEYS.secretKey}`).toString('base64')}`) =>
  fetch(`${server.baseUrl}/api/public/scores`, { method: 'POST', headers: { Authorization: authorization, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

describe('contract server: POST /api/public/scores', () => {
  it('accepts a numeric trace score with Basic auth and a boolean one with Bearer <public key>, answering { id }', async () => {
    const numeric = await post({ name: 'latency', value: 1.2, dataType: 'NUMERIC', traceId: TRACE, observationId: TURN_SPAN, comment: 'c' });
    expect(numeric.status).toBe(200);
    const { id } = (await numeric.json()) as { id: string };
    expect(id).toMatch(/[0-9a-f-]{36}/);
    const boolean = await post({ name: 'met', value: 1, dataType: 'BOOLEAN', sessionId: 'sess_1', id: 'my-id' }, `Bearer ${KEYS.publicKey}`);
    expect(await boolean.json()).toEqual({ id: 'my-id' });
    expect(server.scores).toEqual([
      expect.objectContaining({ id, name: 'latency', value: 1.2, dataType: 'NUMERIC', traceId: TRACE, observationId: TURN_SPAN, comment: 'c', environment: 'default', source: 'API', auth: 'basic' }),
      expect.objectContaining({ id: 'my-id', name: 'met', value: 1, dataType: 'BOOLEAN', sessionId: 'sess_1', auth: 'bearer' }),
    ]);
  });

  it('rejects what LangFuse rejects: auth (401), method (405), and the body schema (400)', async () => {
    expect((await post({ name: 'x', value: 1, traceId: TRACE }, 'Basic ' + Buffer.from('pk-lf-scores:wrong').toString('base64'))).status).toBe(401);
    expect((await post({ name: 'x', value: 1, traceId: TRACE }, '')).status).toBe(401);
    expect((await post({ name: 'x', value: 1, traceId: TRACE }, 'Bearer sk-lf-scores')).status).toBe(401);
    expect((await fetch(`${server.baseUrl}/api/public/scores`, { method: 'PUT' })).status).toBe(405);
    const invalid = [
      { value: 1, traceId: TRACE }, // no name
      { name: '', value: 1, traceId: TRACE },
      { name: 'x', value: 2, dataType: 'BOOLEAN', traceId: TRACE },
      { name: 'x', value: true, dataType: 'BOOLEAN', traceId: TRACE },
      { name: 'x', value: '1.2', dataType: 'NUMERIC', traceId: TRACE },
      { name: 'x', value: 1, dataType: 'numeric', traceId: TRACE },
      { name: 'x', value: 1, traceId: TRACE, sessionId: 'sess_1' }, // two targets
      { name: 'x', value: 1, sessionId: 'sess_1', observationId: TURN_SPAN }, // observation without trace
      { name: 'x', value: 1 }, // no target
      { name: 'x', value: 1, traceId: TRACE, source: 'EVAL' },
      { name: 'x', value: 'good', dataType: 'CATEGORICAL', traceId: TRACE, source: 'ANNOTATION' }, // annotation without config
    ];
    for (const body of invalid) {
      const response = await post(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(((await response.json()) as { message: string }).message).toBe('Invalid request data');
    }
    expect(server.scores).toHaveLength(0);
    expect(server.requests.filter((r) => r.status === 400).every((r) => r.error === 'Invalid request data')).toBe(true);
  });

  it('infers the data type as LangFuse does and normalises the environment', async () => {
    await post({ name: 'a', value: 3, traceId: TRACE, environment: 'Langfuse-Prod' });
    await post({ name: 'b', value: 'good', traceId: TRACE });
    expect(server.scores.map((s) => [s.dataType, s.dataTypeSent, s.environment])).toEqual([
      ['NUMERIC', false, 'prod'],
      ['CATEGORICAL', false, 'default'],
    ]);
  });
});

describe('LangfuseScores', () => {
  const config = () => ({ ...KEYS, baseUrl: server.baseUrl });

  it('posts per turn e2e (numeric), target met and interrupted (boolean) on the agent_turn observation; per call p95 wait and cost', async () => {
    const scores = new LangfuseScores(config(), { environment: 'demo' });
    scores.turn({ traceId: TRACE, observationId: TURN_SPAN, e2eSeconds: 1.478, latencyTargetSeconds: 1.5, interrupted: false });
    scores.turn({ traceId: TRACE, observationId: 'c7ad6b7169203331', e2eSeconds: 1.902, latencyTargetSeconds: 1.5, interrupted: true });
    scores.session({ sessionId: 'sess_1', traceId: TRACE, p95WaitSeconds: 1.897, costUsd: 0.0348 });
    scores.session({ traceId: TRACE, p95WaitSeconds: 1.1, costUsd: 0 });
    expect(scores.stats().pending).toBe(10);
    await scores.flush();
    expect(scores.stats()).toEqual({ posted: 10, failed: 0, invalid: 0, pending: 0 });

    const byName = (name: string) => server.scores.filter((s) => s.name === name);
    expect(byName(LANGFUSE_SCORE_NAMES.turnE2e).map((s) => [s.value, s.dataType, s.traceId, s.observationId])).toEqual([
      [1.478, 'NUMERIC', TRACE, TURN_SPAN],
      [1.902, 'NUMERIC', TRACE, 'c7ad6b7169203331'],
    ]);
    expect(byName(LANGFUSE_SCORE_NAMES.turnTargetMet).map((s) => [s.value, s.dataType, s.dataTypeSent])).toEqual([
      [1, 'BOOLEAN', true],
      [0, 'BOOLEAN', true],
    ]);
    expect(byName(LANGFUSE_SCORE_NAMES.turnTargetMet)[1]!.comment).toBe('e2e 1.902 s > target 1.500 s');
    expect(byName(LANGFUSE_SCORE_NAMES.turnInterrupted).map((s) => s.value)).toEqual([0, 1]);
    // a session score when the session id is known, else a trace score; never both (LangFuse takes one target)
    expect(byName(LANGFUSE_SCORE_NAMES.sessionP95Wait).map((s) => [s.sessionId, s.traceId, s.value])).toEqual([
      ['sess_1', undefined, 1.897],
      [undefined, TRACE, 1.1],
    ]);
    expect(byName(LANGFUSE_SCORE_NAMES.sessionCost).map((s) => s.value)).toEqual([0.0348, 0]);
    expect(server.scores.every((s) => s.environment === 'demo' && s.auth === 'basic' && s.source === 'API')).toBe(true);
    expect(server.requests.every((r) => r.path === '/api/public/scores' && r.status === 200)).toBe(true);
  });

  it('never throws: rejected and undeliverable scores are counted, the first failure logged once; bad records are not sent', async () => {
    const messages: string[] = [];
    const wrongKeys = new LangfuseScores({ ...config(), secretKey: 'wrong' }, { logger: (m) => messages.push(m), maxRetries: 0 });
    expect(() => wrongKeys.turn({ traceId: TRACE, observationId: TURN_SPAN, e2eSeconds: 1, latencyTargetSeconds: 2, interrupted: false })).not.toThrow();
    await wrongKeys.flush();
    expect(wrongKeys.stats()).toEqual({ posted: 0, failed: 3, invalid: 0, pending: 0 });
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('HTTP 401');

    server.failNext(503, 2);
    const flaky = new LangfuseScores(config(), { logger: () => undefined, maxRetries: 0 });
    flaky.session({ sessionId: 'sess_1', p95WaitSeconds: 1, costUsd: 0.01 });
    await flaky.flush();
    expect(flaky.stats()).toMatchObject({ posted: 0, failed: 2 });

    const unreachable = new LangfuseScores({ ...KEYS, baseUrl: 'http://127.0.0.1:9' }, { logger: () => undefined, maxRetries: 0, timeoutSeconds: 2 });
    unreachable.session({ traceId: TRACE, p95WaitSeconds: 1, costUsd: 0.01 });
    await unreachable.flush();
    expect(unreachable.stats()).toMatchObject({ posted: 0, failed: 2 });

    const strict = new LangfuseScores(config());
    strict.turn({ traceId: '', observationId: TURN_SPAN, e2eSeconds: 1, latencyTargetSeconds: 2, interrupted: false });
    strict.turn({ traceId: TRACE, observationId: TURN_SPAN, e2eSeconds: Number.NaN, latencyTargetSeconds: 2, interrupted: false });
    strict.session({ p95WaitSeconds: 1, costUsd: 1 });
    strict.session({ sessionId: 's', p95WaitSeconds: 1, costUsd: -1 });
    await strict.flush();
    expect(strict.stats()).toEqual({ posted: 0, failed: 0, invalid: 4, pending: 0 });
  });
});
