import { ROOT_CONTEXT, trace, type Context, type Tracer } from '@opentelemetry/api';
import type { SessionEngine } from '@voicetrace/core';

const now = () => Date.now() / 1000;

/**
 * One user turn as @livekit/agents 1.9 traces it (same span names, nesting and
 * attributes, including the metrics JSON the SDK attaches), plus, when an engine
 * is given, the metrics events the session emits. Returns the number of spans.
 */
export function simulateTurn(tracer: Tracer, session: Context, turn: number, engine?: SessionEngine): number {
  const speechId = `speech_${turn}`;
  const user = tracer.startSpan('user_turn', { attributes: { 'lk.pii.user_transcript': 'what is the weather like in Paris today?', 'lk.transcript_confidence': 0.94 } }, session);
  engine?.record({ kind: 'user_speech', at: now(), speaking: true });
  engine?.record({ kind: 'vad', at: now(), label: 'vad', idleTime: 0, inferenceTimeTotal: 0.01, inferenceCount: 50 });
  tracer.startSpan('user_speaking', {}, trace.setSpan(session, user)).end();
  engine?.record({ kind: 'stt', at: now(), provider: 'deepgram', model: 'nova-3', audioDuration: 1.8, streamed: true, inputTokens: 0, outputTokens: 0 });
  engine?.record({ kind: 'transcript', at: now(), final: true, text: 'what is the weather like in Paris today?' });
  engine?.record({ kind: 'user_speech', at: now(), speaking: false });
  engine?.record({ kind: 'eou', at: now(), speechId, eouDelay: 0.3, transcriptionDelay: 0.24, onUserTurnCompletedDelay: 0, lastSpeakingTime: now() - 0.3 });
  user.setAttributes({ 'lk.transcription_delay': 240, 'lk.end_of_turn_delay': 300 });
  user.end();

  const agent = tracer.startSpan('agent_turn', { attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'front_desk', 'lk.speech_id': speechId } }, session);
  const agentCtx = trace.setSpan(session, agent);
  const node = tracer.startSpan('llm_node', { attributes: { 'gen_ai.request.model': 'gpt-4o-mini' } }, agentCtx);
  const request = tracer.startSpan('llm_request', { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.provider.name': 'openai' } }, trace.setSpan(session, node));
  tracer.startSpan('llm_request_run', {}, trace.setSpan(session, request)).end();
  const llmMetrics = { type: 'llm_metrics', label: 'llm', requestId: `req_${turn}`, timestamp: Date.now(), durationMs: 900, ttftMs: 380, cancelled: false, completionTokens: 40, promptTokens: 600, promptCachedTokens: 512, totalTokens: 640, tokensPerSecond: 44, speechId, metadata: { modelProvider: 'openai', modelName: 'gpt-4o-mini' } };
  request.setAttributes({ 'lk.llm_metrics': JSON.stringify(llmMetrics), 'gen_ai.usage.input_tokens': 600, 'gen_ai.usage.output_tokens': 40, 'gen_ai.response.finish_reasons': ['stop'] });
  request.end();
  engine?.record({ kind: 'llm', at: now(), provider: 'openai', model: 'gpt-4o-mini', speechId, ttft: 0.38, duration: 0.9, cancelled: false, inputTokens: 600, outputTokens: 40, cachedInputTokens: 512, cacheCreationTokens: 0 });
  node.end();
  const ttsNode = tracer.startSpan('tts_node', { attributes: { 'gen_ai.request.model': 'sonic-2' } }, agentCtx);
  const tts = tracer.startSpan('tts_request', {}, trace.setSpan(session, ttsNode));
  const ttsMetrics = { type: 'tts_metrics', label: 'tts', requestId: `tts_${turn}`, timestamp: Date.now(), ttfbMs: 150, durationMs: 600, audioDurationMs: 3200, cancelled: false, charactersCount: 60, streamed: true, speechId, metadata: { modelProvider: 'cartesia', modelName: 'sonic-2' } };
  tts.setAttribute('lk.tts_metrics', JSON.stringify(ttsMetrics));
  engine?.record({ kind: 'tts', at: now(), provider: 'cartesia', model: 'sonic-2', speechId, ttfb: 0.15, duration: 0.6, audioDuration: 3.2, characters: 60, streamed: true, cancelled: false, inputTokens: 0, outputTokens: 0 });
  tts.end();
  ttsNode.end();
  tracer.startSpan('agent_speaking', {}, agentCtx).end();
  agent.setAttributes({ 'lk.e2e_latency': 1.4, 'lk.interrupted': false });
  agent.end();
  // SDK spans per turn: user_turn, user_speaking, agent_turn, llm_node, llm_request, llm_request_run, tts_node, tts_request, agent_speaking
  return 9;
}

/** Starts an `agent_session` root as the SDK does; returns its context. */
export function startSession(tracer: Tracer): { context: Context; end: () => void } {
  const span = tracer.startSpan('agent_session', { attributes: { 'gen_ai.operation.name': 'invoke_workflow' } }, ROOT_CONTEXT);
  return { context: trace.setSpan(ROOT_CONTEXT, span), end: () => span.end() };
}
