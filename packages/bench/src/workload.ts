import { ROOT_CONTEXT, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { voice } from '@livekit/agents';
import { EventEmitter } from 'node:events';

/**
 * One call as `@livekit/agents` 1.9 traces it, checked against the real SDK's spans (the demo's
 * `AgentSession` with scripted plugins, captured span by span; see packages/bench/README.md):
 *
 * - the same span names, parents and order of starts and ends; every SDK span starts with no
 *   attributes and gets them before it ends, as the SDK does;
 * - the same attributes with the same types and sizes, including the ones that grow with the
 *   call: the chat context on `llm_node` (`lk.pii.chat_ctx`) and the request's messages on
 *   `llm_request` (`gen_ai.input.messages`), plus the metrics JSON (`lk.llm_metrics`,
 *   `lk.tts_metrics`) the SDK attaches;
 * - the session's events, with the SDK's field names and units (ms), emitted on an
 *   `EventEmitter` that stands in for the `AgentSession` (voicetrace's observer listens to it as
 *   it listens to a real one): user and agent state, 5 interim and one final transcript, the
 *   metrics of VAD, STT, EOU, LLM and TTS, conversation items, tool executions.
 *
 * A call: a greeting, then user turns; every 4th user turn the reply first calls a tool (a
 * second agent turn, as the SDK makes for a tool step).
 */

/** The stand-in for `voice.AgentSession` the observer subscribes to (events only, plus the model it reads). */
export class SimulatedAgentSession extends EventEmitter {
  readonly llm = { provider: 'openai', model: 'gpt-4o-mini' };
}

const USER_LINE = 'Hi, what is the weather like in Paris today?';
const REPLY =
  'It is eighteen degrees and sunny in Paris right now. Our stores open at nine and close at eight, from Monday to Saturday. Anything else?';
const SYSTEM = 'You are the front desk of Acme. Be brief. Hand billing questions to billing.';
const TOOLS_JSON = '["get_weather","transfer_to_billing"]';
const TOOL_DEFINITIONS =
  '[{"type":"function","name":"get_weather","description":"Current weather for a city."},{"type":"function","name":"transfer_to_billing","description":"Transfer the caller to the billing specialist."}]';
const SYSTEM_INSTRUCTIONS = JSON.stringify([{ type: 'text', content: SYSTEM }]);
const TOOL_ARGUMENTS = '{"city":"Paris"}';
const TOOL_OUTPUT = '{"city":"Paris","temperatureC":18,"condition":"sunny"}';

let idCounter = 0;
const id = (prefix: string): string => `${prefix}_${(++idCounter).toString(36).padStart(8, '0')}`;

/**
 * The growing conversation of one call, kept as the SDK serializes it (strings appended, not
 * re-serialized). `maxMessages` keeps the newest messages only, as an agent that trims its context
 * does (the 10,000-turn memory series needs the SDK side flat to see voicetrace's).
 */
class Conversation {
  constructor(private readonly maxMessages = Infinity) {}

  /** `lk.pii.chat_ctx` items (the SDK's ChatContext.toJSON) */
  private chatItems: string[] = [
    JSON.stringify({ id: 'lk.agent_task.instructions', type: 'message', role: 'system', content: [SYSTEM], interrupted: false }),
    JSON.stringify({ id: id('item'), type: 'agent_config_update', instructions: SYSTEM, tools_added: ['get_weather', 'transfer_to_billing'] }),
  ];
  /** `gen_ai.input.messages` (OTel GenAI parts) */
  private messages: string[] = [];
  /**
   * The session's chat history: the SDK inserts each item into it and emits that same object in its
   * `conversation_item_added` / `function_tools_executed` event (@livekit/agents 1.9.0
   * `dist/voice/agent_session.js:1067-1069`, `dist/voice/agent_activity.js:2841-2844`), so a listener
   * that keeps the events holds no copy of the items.
   */
  private items: object[] = [];

  /** An item inserted into the chat history; returns it, for the event that carries it. */
  keep<T extends object>(item: T): T {
    this.items.push(item);
    this.trim();
    return item;
  }

  add(role: 'user' | 'assistant', text: string, now: number): void {
    this.chatItems.push(
      JSON.stringify({
        id: id('item'),
        type: 'message',
        role,
        content: [text],
        interrupted: false,
        metrics: role === 'user' ? { started_speaking_at: now - 1.6, stopped_speaking_at: now, transcription_delay: 0.241, end_of_turn_delay: 0.3 } : { tts_node_ttfb: 0.24, started_speaking_at: now, stopped_speaking_at: now + 3.4 },
      }),
    );
    this.messages.push(JSON.stringify({ role, parts: [{ type: 'text', content: text }] }));
    this.trim();
  }

  private trim(): void {
    if (this.messages.length > this.maxMessages) this.messages.splice(0, this.messages.length - this.maxMessages);
    // the system item and the config update stay first
    if (this.chatItems.length > this.maxMessages + 2) this.chatItems.splice(2, this.chatItems.length - this.maxMessages - 2);
    if (this.items.length > this.maxMessages) this.items.splice(0, this.items.length - this.maxMessages);
  }

  addToolCall(callId: string): void {
    this.messages.push(JSON.stringify({ role: 'assistant', parts: [{ type: 'tool_call', id: callId, name: 'get_weather', arguments: { city: 'Paris' } }] }));
    this.messages.push(JSON.stringify({ role: 'tool', parts: [{ type: 'tool_call_response', id: callId, response: TOOL_OUTPUT }] }));
    this.chatItems.push(JSON.stringify({ id: id('item'), type: 'function_call', call_id: callId, name: 'get_weather', arguments: TOOL_ARGUMENTS }));
    this.chatItems.push(JSON.stringify({ id: id('item'), type: 'function_call_output', call_id: callId, name: 'get_weather', output: TOOL_OUTPUT, is_error: false }));
    this.trim();
  }

  /** Flat strings, as the SDK's JSON.stringify makes them. */
  chatCtx(): string {
    return ['{"items":[', this.chatItems.join(','), ']}'].join('');
  }

  inputMessages(): string {
    return ['[', this.messages.join(','), ']'].join('');
  }
}

/** One simulated call: its root span, its conversation and the session's event emitter. */
export class SimulatedCall {
  readonly session = new SimulatedAgentSession();
  /** SDK spans started so far. */
  sdkSpans = 0;
  private root: Span | undefined;
  private rootContext: Context = ROOT_CONTEXT;
  private readonly conversation: Conversation;
  private turnIndex = 0;

  /** `maxMessages`: the newest messages the conversation keeps (default: all, as the demo's agent). */
  constructor(
    private readonly tracer: Tracer,
    options: { maxMessages?: number | undefined } = {},
  ) {
    this.conversation = new Conversation(options.maxMessages);
  }

  /** `agent_session` starts (with its activity) and the agent greets the caller. */
  start(): void {
    this.root = this.span('agent_session', ROOT_CONTEXT);
    this.root.setAttributes({ 'gen_ai.operation.name': 'invoke_workflow', 'gen_ai.workflow.name': 'agent_session' });
    this.rootContext = trace.setSpan(ROOT_CONTEXT, this.root);
    const activity = this.span('start_agent_activity', this.rootContext);
    activity.setAttributes({ 'lk.agent_label': 'front_desk', 'gen_ai.operation.name': 'create_agent', 'gen_ai.agent.name': 'front_desk', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini' });
    const enter = this.span('on_enter', trace.setSpan(ROOT_CONTEXT, activity));
    enter.setAttribute('lk.agent_label', 'front_desk');
    enter.end();
    activity.end();
    this.emit('conversation_item_added', { item: this.conversation.keep({ id: id('item'), type: 'agent_handoff', newAgentId: 'front_desk' }) });
    this.emit('agent_state_changed', { oldState: 'initializing', newState: 'listening' });
    // the greeting: session.say() speaks without an LLM
    const greeting = 'Hello, thanks for calling Acme. How can I help you today?';
    this.emit('agent_state_changed', { oldState: 'listening', newState: 'speaking' });
    const ttsNode = this.span('tts_node', this.rootContext);
    const { request, run } = this.startTts(ttsNode);
    const speaking = this.span('agent_speaking', this.rootContext);
    this.endTts(ttsNode, request, run, greeting, undefined);
    speaking.end();
    this.conversation.add('assistant', greeting, Date.now() / 1000);
    this.emit('conversation_item_added', { item: this.conversation.keep(message('assistant', greeting, { ttsNodeTtfb: 0.24, startedSpeakingAt: Date.now() / 1000 - 0.9, stoppedSpeakingAt: Date.now() / 1000 })) });
    this.emit('agent_state_changed', { oldState: 'speaking', newState: 'listening' });
  }

  /**
   * The next user turn as steps, in the SDK's order (run them back to back, or spaced in time):
   * the user speaks; the user stops and the turn ends; the agent's reply starts; the reply ends.
   */
  turn(): Array<() => void> {
    const index = ++this.turnIndex;
    const speechId = id('speech');
    const toolStep = index % 4 === 1;
    let user: Span;
    let userSpeaking: Span;
    let reply: ReturnType<SimulatedCall['startReply']>;
    return [
      () => {
        this.emit('user_state_changed', { oldState: 'listening', newState: 'speaking' });
        user = this.span('user_turn', this.rootContext);
        userSpeaking = this.span('user_speaking', trace.setSpan(ROOT_CONTEXT, user));
        const words = USER_LINE.split(' ');
        for (let i = 2; i <= words.length; i += 2) this.emit('user_input_transcribed', { transcript: words.slice(0, i).join(' '), isFinal: false, itemId: null, speakerId: null, language: 'en' });
      },
      () => {
        const now = Date.now();
        userSpeaking.end();
        this.emit('user_state_changed', { oldState: 'speaking', newState: 'listening' });
        this.metrics({ type: 'vad_metrics', label: 'voicetrace.EnergyVAD', timestamp: now, idleTimeMs: 0, inferenceDurationTotalMs: 12, inferenceCount: 80 });
        this.emit('user_input_transcribed', { transcript: USER_LINE, isFinal: true, itemId: null, speakerId: null, language: 'en' });
        this.metrics({ type: 'stt_metrics', label: 'voicetrace.ScriptedSTT', requestId: id('stt_req'), timestamp: now, durationMs: 0, audioDurationMs: 1820, streamed: true, inputTokens: 0, outputTokens: 0, metadata: { modelProvider: 'deepgram', modelName: 'nova-3' } });
        this.metrics({ type: 'eou_metrics', timestamp: now, endOfUtteranceDelayMs: 300, transcriptionDelayMs: 241, onUserTurnCompletedDelayMs: 0, lastSpeakingTimeMs: now - 300, speechId });
        user.setAttributes({
          'gen_ai.request.model': 'nova-3',
          'gen_ai.provider.name': 'deepgram',
          'lk.pii.user_transcript': USER_LINE,
          'lk.transcript_confidence': 0.94,
          'lk.transcription_delay': 241,
          'lk.end_of_turn_delay': 300,
          'lk.provider_request_ids': [id('stt_req')],
        });
        user.end();
        this.conversation.add('user', USER_LINE, now / 1000);
        this.emit('conversation_item_added', { item: this.conversation.keep(message('user', USER_LINE, { startedSpeakingAt: now / 1000 - 1.9, stoppedSpeakingAt: now / 1000 - 0.3, transcriptionDelay: 0.241, endOfTurnDelay: 0.3, onUserTurnCompletedDelay: 0 }, 0.94)) });
        this.emit('agent_state_changed', { oldState: 'listening', newState: 'thinking' });
      },
      () => {
        if (toolStep) this.toolStep(speechId);
        reply = this.startReply(speechId);
        this.emit('agent_state_changed', { oldState: 'thinking', newState: 'speaking' });
      },
      () => {
        this.endReply(reply);
        this.emit('agent_state_changed', { oldState: 'speaking', newState: 'listening' });
      },
    ];
  }

  /** Runs the next user turn's steps back to back. */
  runTurn(): void {
    for (const step of this.turn()) step();
  }

  /** The call ends: the activity drains and the session span ends, then the session closes. */
  end(): void {
    const drain = this.span('drain_agent_activity', this.rootContext);
    drain.setAttribute('lk.agent_label', 'front_desk');
    const exit = this.span('on_exit', trace.setSpan(ROOT_CONTEXT, drain));
    exit.setAttribute('lk.agent_label', 'front_desk');
    exit.end();
    drain.end();
    this.root?.setAttribute('lk.agent_label', 'front_desk');
    this.root?.end();
    this.emit('close', { reason: 'user_initiated', error: null });
  }

  /** An agent turn and its LLM request, as the SDK opens them for a reply and for a tool step alike. */
  private startAgentTurn(speechId: string) {
    const agent = this.span('agent_turn', this.rootContext);
    agent.setAttributes({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'front_desk' });
    agent.setAttributes({ 'lk.speech_id': speechId, 'lk.pii.user_input': USER_LINE });
    const agentContext = trace.setSpan(ROOT_CONTEXT, agent);
    const llmNode = this.span('llm_node', agentContext);
    const llmRequest = this.span('llm_request', trace.setSpan(ROOT_CONTEXT, llmNode));
    const llmRun = this.span('llm_request_run', trace.setSpan(ROOT_CONTEXT, llmRequest));
    return { agent, agentContext, llmNode, llmRequest, llmRun };
  }

  private startReply(speechId: string) {
    const { agent, agentContext, llmNode, llmRequest, llmRun } = this.startAgentTurn(speechId);
    // a reply's TTS and playout are the agent turn's children (the greeting's are the session's)
    const ttsNode = this.span('tts_node', agentContext);
    const tts = this.startTts(ttsNode);
    const speaking = this.span('agent_speaking', agentContext);
    return { speechId, agent, llmNode, llmRequest, llmRun, ttsNode, tts, speaking };
  }

  private endReply(r: ReturnType<SimulatedCall['startReply']>): void {
    this.endLlm(r.llmNode, r.llmRequest, r.llmRun, r.speechId, REPLY, 'stop');
    this.endTts(r.ttsNode, r.tts.request, r.tts.run, REPLY, r.speechId);
    r.speaking.end();
    const now = Date.now() / 1000;
    this.conversation.add('assistant', REPLY, now);
    this.emit('conversation_item_added', { item: this.conversation.keep(message('assistant', REPLY, { llmNodeTtft: 0.38, ttsNodeTtfb: 0.15, startedSpeakingAt: now - 3.4, stoppedSpeakingAt: now, playbackLatency: 0, e2eLatency: 1.248 })) });
    r.agent.setAttributes({ 'lk.e2e_latency': 1.248000144958496, 'lk.interrupted': false, 'lk.pii.response.text': REPLY });
    r.agent.end();
  }

  /** A reply that first calls a tool: its own agent turn with an LLM request and the tool's span. */
  private toolStep(speechId: string): void {
    const { agent, agentContext, llmNode, llmRequest, llmRun } = this.startAgentTurn(speechId);
    const callId = this.endLlm(llmNode, llmRequest, llmRun, speechId, '', 'tool_call');
    const tool = this.span('function_tool', agentContext);
    tool.setAttributes({
      'lk.function_tool.name': 'get_weather',
      'lk.pii.function_tool.arguments': TOOL_ARGUMENTS,
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'get_weather',
      'gen_ai.tool.type': 'function',
      'gen_ai.tool.call.id': callId,
      'gen_ai.agent.name': 'front_desk',
      'gen_ai.tool.description': 'Current weather for a city.',
      'gen_ai.tool.call.arguments': TOOL_ARGUMENTS,
      'lk.pii.function_tool.output': TOOL_OUTPUT,
      'lk.function_tool.is_error': false,
      'gen_ai.tool.call.result': TOOL_OUTPUT,
    });
    tool.end();
    this.conversation.addToolCall(callId);
    this.emit('function_tools_executed', {
      functionCalls: [this.conversation.keep({ id: id('fnc'), type: 'function_call', callId, name: 'get_weather', args: TOOL_ARGUMENTS })],
      functionCallOutputs: [this.conversation.keep({ id: id('item'), type: 'function_call_output', name: 'get_weather', callId, output: TOOL_OUTPUT, isError: false })],
    });
    agent.setAttributes({ 'lk.interrupted': false });
    agent.end();
  }

  /** Ends an LLM request as the SDK does (run, request with its messages and metrics, node with the chat context); returns the tool call id. */
  private endLlm(node: Span, request: Span, run: Span, speechId: string, text: string, finish: 'stop' | 'tool_call'): string {
    const requestId = id('chatcmpl');
    const callId = `${requestId}_call_0`;
    run.setAttributes({ 'lk.retry_count': 0, 'lk.provider_request_ids': [requestId] });
    run.end();
    const now = Date.now();
    // the JSON on the span has no speech id; the event's metrics have it
    const metrics = { type: 'llm_metrics', timestamp: now, requestId, ttftMs: 380, durationMs: 900, cancelled: false, label: 'livekit.plugins.openai.LLM', completionTokens: 40, promptTokens: 600, promptCachedTokens: 512, cacheCreationTokens: 0, totalTokens: 640, tokensPerSecond: 44.4, metadata: { modelProvider: 'openai', modelName: 'gpt-4o-mini' } };
    const output = finish === 'stop' ? JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: text }] }]) : JSON.stringify([{ role: 'assistant', parts: [{ type: 'tool_call', id: callId, name: 'get_weather', arguments: { city: 'Paris' } }] }]);
    request.setAttributes({
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.stream': true,
      'gen_ai.output.type': 'text',
      'gen_ai.system_instructions': SYSTEM_INSTRUCTIONS,
      'gen_ai.input.messages': this.conversation.inputMessages(),
      'gen_ai.tool.definitions': TOOL_DEFINITIONS,
    });
    request.setAttributes({
      'lk.llm_metrics': JSON.stringify(metrics),
      'gen_ai.usage.input_tokens': 600,
      'gen_ai.usage.output_tokens': 40,
      'gen_ai.usage.cache_read.input_tokens': 512,
      'gen_ai.usage.input_cached_tokens': 512,
      'gen_ai.response.id': requestId,
      'gen_ai.response.model': 'gpt-4o-mini',
      'gen_ai.response.finish_reasons': [finish],
      'gen_ai.response.time_to_first_chunk': 0.38,
      'gen_ai.output.messages': output,
      'langfuse.observation.completion_start_time': new Date(now - 520).toISOString(),
    });
    this.metrics({ ...metrics, speechId });
    request.end();
    node.setAttributes({
      'lk.pii.chat_ctx': this.conversation.chatCtx(),
      'lk.function_tools': TOOLS_JSON,
      'lk.pii.response.text': text,
      'lk.pii.response.function_calls': finish === 'stop' ? '[]' : JSON.stringify([{ id: `${id('item')}/fnc_0`, call_id: callId, name: 'get_weather', arguments: TOOL_ARGUMENTS }]),
      'lk.response.ttft': 0.3816910679999998,
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.provider.name': 'openai',
    });
    node.end();
    return callId;
  }

  private startTts(node: Span): { request: Span; run: Span } {
    const request = this.span('tts_request', trace.setSpan(ROOT_CONTEXT, node));
    const run = this.span('tts_request_run', trace.setSpan(ROOT_CONTEXT, request));
    return { request, run };
  }

  private endTts(node: Span, request: Span, run: Span, text: string, speechId: string | undefined): void {
    const requestId = id('tts_seg');
    run.setAttributes({ 'lk.retry_count': 0, 'lk.provider_request_ids': [requestId] });
    run.end();
    const metrics = { type: 'tts_metrics', timestamp: Date.now(), requestId, ttfbMs: 150, durationMs: 640, charactersCount: text.length, audioDurationMs: 3420, cancelled: false, label: 'livekit.plugins.cartesia.TTS', inputTokens: 0, outputTokens: 0, streamed: true, metadata: { modelProvider: 'cartesia', modelName: 'sonic-2' } };
    request.setAttributes({ 'lk.tts.streaming': true, 'lk.tts.label': 'livekit.plugins.cartesia.TTS', 'lk.tts_metrics': JSON.stringify(metrics) });
    this.metrics({ ...metrics, speechId });
    request.end();
    node.setAttributes({ 'gen_ai.request.model': 'sonic-2', 'gen_ai.provider.name': 'cartesia', 'lk.response.ttfb': 0.15199973200000006 });
    node.end();
  }

  private span(name: string, context: Context): Span {
    this.sdkSpans += 1;
    return this.tracer.startSpan(name, {}, context);
  }

  private metrics(metrics: Record<string, unknown>): void {
    this.emit('metrics_collected', { metrics });
  }

  private emit(type: string, event: Record<string, unknown>): void {
    this.session.emit(type, sdkEvent(type, event));
  }
}

/**
 * The event as the SDK makes it: its factories (`@livekit/agents` 1.9.0 `dist/voice/events.js`
 * lines 26-170) return one literal per event, whose shape decides what holding the event costs.
 */
function sdkEvent(type: string, e: Record<string, any>): unknown {
  switch (type) {
    case 'user_state_changed':
      return voice.createUserStateChangedEvent(e.oldState, e.newState);
    case 'agent_state_changed':
      return voice.createAgentStateChangedEvent(e.oldState, e.newState);
    case 'user_input_transcribed':
      return voice.createUserInputTranscribedEvent({ transcript: e.transcript, isFinal: e.isFinal, itemId: e.itemId, speakerId: e.speakerId, language: e.language });
    case 'conversation_item_added':
      return voice.createConversationItemAddedEvent(e.item);
    case 'function_tools_executed':
      return voice.createFunctionToolsExecutedEvent({ functionCalls: e.functionCalls, functionCallOutputs: e.functionCallOutputs });
    case 'metrics_collected':
      return voice.createMetricsCollectedEvent({ metrics: e.metrics });
    case 'close':
      return voice.createCloseEvent(e.reason, e.error);
    default:
      throw new Error(`the simulated SDK emits no ${type} event`);
  }
}

/** A chat message as the SDK's `ChatMessage` (with its `textContent`). */
function message(role: 'user' | 'assistant', text: string, metrics: Record<string, number>, transcriptConfidence?: number): Record<string, unknown> {
  return { id: id('item'), type: 'message', role, content: [text], textContent: text, interrupted: false, transcriptConfidence, metrics };
}
