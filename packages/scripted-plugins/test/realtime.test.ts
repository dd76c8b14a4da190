import { initializeLogger, llm, voice, type RealtimeModelMetrics } from '@livekit/agents';
import type { AudioFrame } from '@livekit/rtc-node';
import { afterEach, describe, expect, it } from 'vitest';
import { EnergyVAD, ScriptedUser, SimulatedAudioOutput, makeFrame } from '../src/index.js';
import { ScriptedRealtimeModel, type ScriptedRealtimeModelOptions, type ScriptedRealtimeSession } from '../src/realtime.js';

initializeLogger({ pretty: false, level: 'error' });

const LONG = 'Our stores open at nine in the morning and close at eight in the evening from Monday to Saturday, and at six on Sundays.';
const REPLIES = [
  { when: 'instructions:greet', text: 'Hello there!' },
  { when: 'weather', toolCalls: [{ name: 'get_weather', args: { city: 'Paris' } }] },
  { when: 'tool:get_weather', text: 'It is sunny in Paris.' },
  { when: 'hours', text: LONG },
];

/** A raw JSON schema (the SDK takes one instead of zod). */
const CITY = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };

const weatherTools = () =>
  new llm.ToolContext({
    get_weather: llm.tool({ description: 'Current weather.', parameters: CITY, execute: async () => 'sunny' }),
  });

/** Everything a session emits, with arrival times. */
function record(session: ScriptedRealtimeSession) {
  const events: Array<{ type: string; at: number; ev: any }> = [];
  for (const type of ['input_speech_started', 'input_speech_stopped', 'input_audio_transcription_completed', 'generation_created', 'metrics_collected']) {
    session.on(type, (ev) => events.push({ type, at: Date.now(), ev }));
  }
  const metrics = () => events.filter((e) => e.type === 'metrics_collected').map((e) => e.ev as RealtimeModelMetrics);
  return { events, metrics };
}

/** Reads a generation like the SDK does: every message's text and audio, and the tool calls. */
async function consume(ev: llm.GenerationCreatedEvent, onFirstAudio?: () => void) {
  const texts: string[] = [];
  const frames: AudioFrame[] = [];
  const calls: llm.FunctionCall[] = [];
  const readCalls = (async () => {
    for await (const call of ev.functionStream) calls.push(call);
  })();
  for await (const message of ev.messageStream) {
    const text = (async () => {
      let all = '';
      for await (const delta of message.textStream) all += typeof delta === 'string' ? delta : delta.text;
      texts.push(all);
    })();
    for await (const frame of message.audioStream) {
      if (frames.length === 0) onFirstAudio?.();
      frames.push(frame);
    }
    await text;
  }
  await readCalls;
  return { texts, frames, calls };
}

/** Pushes `ms` of speech (or silence) in 20 ms frames, as fast as the model takes them. */
function push(session: ScriptedRealtimeSession, ms: number, speech: boolean): void {
  for (let t = 0; t < ms; t += 20) session.pushAudio(makeFrame(20, speech));
}

function setup(options: Partial<ScriptedRealtimeModelOptions> = {}) {
  const model = new ScriptedRealtimeModel({ replies: REPLIES, ttft: { minMs: 30, maxMs: 40 }, realtimeFactor: 50, ...options });
  const session = model.session();
  return { model, session, ...record(session) };
}

const waitFor = async (check: () => boolean, timeoutMs = 5000): Promise<void> => {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

let open: ScriptedRealtimeModel[] = [];
afterEach(async () => {
  await Promise.all(open.map((m) => m.close()));
  open = [];
});
const track = <T extends { model: ScriptedRealtimeModel }>(s: T): T => (open.push(s.model), s);

describe('ScriptedRealtimeModel', () => {
  it('reports the OpenAI plugin capabilities, provider and model by default', () => {
    const { model } = track(setup());
    expect(model.provider).toBe('openai');
    expect(model.model).toBe('gpt-4o-realtime-preview');
    expect(model.label()).toBe('voicetrace.ScriptedRealtimeModel');
    expect(model.capabilities).toMatchObject({ turnDetection: true, userTranscription: true, audioOutput: true, messageTruncation: true, autoToolReplyGeneration: false });
    const client = new ScriptedRealtimeModel({ replies: [], turnDetection: null, inputTranscription: null, modalities: ['text'] });
    expect(client.capabilities).toMatchObject({ turnDetection: false, userTranscription: false, audioOutput: false });
  });

  it('detects the turn server-side, answers in audio + transcript, and transcribes the user late', async () => {
    const { model, session, events, metrics } = track(setup());
    model.transcriber.expect({ transcript: 'what are your opening hours', confidence: 0.9 });
    push(session, 300, false);
    push(session, 800, true);
    expect(events.map((e) => e.type)).toEqual(['input_speech_started']);
    push(session, 600, false);
    expect(events.map((e) => e.type)).toEqual(['input_speech_started', 'input_speech_stopped']);
    expect(events[1]!.ev).toEqual({ userTranscriptionEnabled: true });
    await waitFor(() => events.some((e) => e.type === 'generation_created'));
    const created = events.find((e) => e.type === 'generation_created')!;
    expect(created.ev.userInitiated).toBe(false);
    let firstAudioAt = 0;
    const out = await consume(created.ev, () => (firstAudioAt = Date.now()));
    expect(out.texts).toEqual([LONG]);
    expect(out.frames[0]!.sampleRate).toBe(24_000);
    // 60 ms of audio per character of the transcript
    expect(out.frames.length * 20).toBeCloseTo(LONG.length * 60, -2);
    await waitFor(() => events.some((e) => e.type === 'input_audio_transcription_completed' && e.ev.isFinal));
    const transcripts = events.filter((e) => e.type === 'input_audio_transcription_completed');
    expect(transcripts.map((e) => [e.ev.transcript, e.ev.isFinal])).toEqual([
      ['what are your', false],
      ['what are your opening hours', true],
    ]);
    const final = transcripts.at(-1)!;
    expect(final.ev.confidence).toBe(0.9);
    expect(final.at).toBeGreaterThan(firstAudioAt); // the reply was already playing
    const [m] = metrics();
    expect(m).toMatchObject({ type: 'realtime_model_metrics', requestId: created.ev.responseId, cancelled: false, metadata: { modelProvider: 'openai', modelName: 'gpt-4o-realtime-preview' } });
    expect(m!.ttftMs).toBeGreaterThan(0);
    // prefix padding (300 ms) + speech (800 ms) + the silence that ended it (500 ms) at 10 tokens/s
    expect(m!.inputTokenDetails.audioTokens).toBe(16);
    expect(m!.outputTokenDetails.audioTokens).toBe(Math.ceil((out.frames.length * 20 * 20) / 1000));
    expect(m!.outputTokenDetails.textTokens).toBe(Math.ceil(LONG.length / 4));
    // the remote conversation holds the user audio item (with its transcript now) and the reply
    const items = session.chatCtx.items.filter((i) => i.type === 'message');
    expect(items.map((i) => [i.role, i.textContent])).toEqual([
      ['user', 'what are your opening hours'],
      ['assistant', LONG],
    ]);
  });

  it('calls tools with a tool-call-only response (ttftMs -1), then speaks the tool output', async () => {
    const { model, session, events, metrics } = track(setup());
    await session.updateTools(weatherTools());
    model.transcriber.expect({ transcript: 'how is the weather' });
    push(session, 500, true);
    push(session, 600, false);
    await waitFor(() => events.some((e) => e.type === 'generation_created'));
    const first = await consume(events.find((e) => e.type === 'generation_created')!.ev);
    expect(first.texts).toEqual([]);
    expect(first.calls.map((c) => [c.name, c.args])).toEqual([['get_weather', '{"city":"Paris"}']]);
    await waitFor(() => metrics().length === 1);
    expect(metrics()[0]!.ttftMs).toBe(-1);
    expect(metrics()[0]!.outputTokenDetails).toMatchObject({ audioTokens: 0, textTokens: expect.any(Number) });
    // the SDK appends the tool output and asks for the reply
    const ctx = session.chatCtx;
    ctx.items.push(llm.FunctionCallOutput.create({ callId: first.calls[0]!.callId, name: 'get_weather', output: 'sunny', isError: false }));
    await session.updateChatCtx(ctx);
    const reply = await session.generateReply();
    expect(reply.userInitiated).toBe(true);
    expect((await consume(reply)).texts).toEqual(['It is sunny in Paris.']);
    await waitFor(() => metrics().length === 2);
    expect(metrics()[1]!.ttftMs).toBeGreaterThan(0);
  });

  it('without the tool (or with toolChoice none) it says something instead of calling it', async () => {
    const { session } = track(setup());
    await session.updateChatCtx(new llm.ChatContext([llm.ChatMessage.create({ role: 'user', content: 'the weather please' })]));
    expect((await consume(await session.generateReply())).texts).toEqual(['Sorry, could you say that again?']);
    await session.updateTools(weatherTools());
    session.updateOptions({ toolChoice: 'none' });
    const out = await consume(await session.generateReply());
    expect(out.calls).toEqual([]);
  });

  it('honours interrupt(): the audio stops, the response is reported cancelled after the round trip', async () => {
    const { session, metrics } = track(setup({ realtimeFactor: 2 }));
    await session.updateChatCtx(new llm.ChatContext([llm.ChatMessage.create({ role: 'user', content: 'your hours?' })]));
    const ev = await session.generateReply();
    const reading = consume(ev);
    await new Promise((resolve) => setTimeout(resolve, 250));
    const interruptedAt = Date.now();
    await session.interrupt();
    const out = await reading;
    expect(out.frames.length * 20).toBeLessThan(LONG.length * 60 / 2);
    await waitFor(() => metrics().length === 1);
    const m = metrics()[0]!;
    expect(m.cancelled).toBe(true);
    expect(m.ttftMs).toBeGreaterThan(0);
    expect(m.timestamp + m.durationMs).toBeGreaterThanOrEqual(interruptedAt + 40);
  });

  it('a response cancelled before any audio has ttftMs -1', async () => {
    const { session, metrics } = track(setup({ ttft: { minMs: 300, maxMs: 300 } }));
    await session.updateChatCtx(new llm.ChatContext([llm.ChatMessage.create({ role: 'user', content: 'your hours?' })]));
    const ev = await session.generateReply();
    const reading = consume(ev);
    await session.interrupt();
    expect((await reading).frames).toEqual([]);
    await waitFor(() => metrics().length === 1);
    expect(metrics()[0]).toMatchObject({ cancelled: true, ttftMs: -1, outputTokens: 0 });
  });

  it('truncate() cuts the item to what was heard; the next response sees fewer audio tokens', async () => {
    const { model, session, metrics } = track(setup());
    await session.updateChatCtx(new llm.ChatContext([llm.ChatMessage.create({ role: 'user', content: 'your hours?' })]));
    const first = await consume(await session.generateReply());
    await waitFor(() => metrics().length === 1);
    const messageId = session.chatCtx.items.find((i) => i.type === 'message' && i.role === 'assistant')!.id;
    await session.truncate({ messageId, audioEndMs: 1000, audioTranscript: 'Our stores open' });
    expect(model.truncations).toMatchObject([{ messageId, audioEndMs: 1000, audioTranscript: 'Our stores open' }]);
    const item = session.chatCtx.getById(messageId);
    expect(item?.type === 'message' && item.textContent).toBe('Our stores open');
    await consume(await session.generateReply());
    await waitFor(() => metrics().length === 2);
    // 1 s of heard audio at 20 tokens/s instead of the whole answer
    expect(metrics()[1]!.inputTokenDetails.audioTokens).toBe(20);
    expect(first.frames.length * 20 * 0.02).toBeGreaterThan(100);
  });

  it('reports cached tokens that grow with the shared prefix of the conversation', async () => {
    const { session, metrics } = track(setup({ cacheGranularity: 16 }));
    await session.updateInstructions('You are the front desk of Acme. Be brief and friendly. Answer questions about opening hours.');
    const ctx = llm.ChatContext.empty();
    for (let i = 0; i < 4; i++) {
      ctx.items.push(llm.ChatMessage.create({ role: 'user', content: `question ${i} about your opening hours` }));
      await session.updateChatCtx(ctx);
      await consume(await session.generateReply());
      await waitFor(() => metrics().length === i + 1);
      ctx.items.splice(0, ctx.items.length, ...session.chatCtx.items);
    }
    const cached = metrics().map((m) => m.inputTokenDetails.cachedTokens);
    expect(cached[0]).toBe(0);
    for (let i = 1; i < cached.length; i++) expect(cached[i]!).toBeGreaterThan(cached[i - 1]!);
    for (const m of metrics()) {
      expect(m.inputTokenDetails.cachedTokens).toBeLessThanOrEqual(m.inputTokens);
      expect(m.inputTokenDetails.cachedTokensDetails!.audioTokens + m.inputTokenDetails.cachedTokensDetails!.textTokens).toBe(m.inputTokenDetails.cachedTokens);
    }
    // new instructions invalidate the cache
    await session.updateInstructions('You are billing.');
    await consume(await session.generateReply());
    await waitFor(() => metrics().length === 5);
    expect(metrics()[4]!.inputTokenDetails.cachedTokens).toBe(0);
  });

  it('bills session time in increments, the remainder at close', async () => {
    const { session, metrics } = track(setup({ sessionBilling: true }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await consume(await session.generateReply('greet'));
    await waitFor(() => metrics().length === 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const before = Date.now();
    await session.close();
    const [response, closing] = metrics();
    expect(response!.sessionDurationMs).toBeGreaterThanOrEqual(100);
    expect(closing).toMatchObject({ durationMs: 0, ttftMs: -1, inputTokens: 0, outputTokens: 0 });
    expect(closing!.sessionDurationMs).toBeGreaterThanOrEqual(100);
    expect(response!.sessionDurationMs! + closing!.sessionDurationMs!).toBeLessThanOrEqual(Date.now() - before + 1000);
  });

  it('Gemini-style timing: the transcript comes when the reply is done, with turnStartedAt', async () => {
    const { model, session, events } = track(setup({ inputTranscription: { timing: 'after_response' } }));
    model.transcriber.expect({ transcript: 'what are your hours' });
    push(session, 500, true);
    push(session, 600, false);
    await waitFor(() => events.some((e) => e.type === 'generation_created'));
    await consume(events.find((e) => e.type === 'generation_created')!.ev);
    await waitFor(() => events.some((e) => e.type === 'input_audio_transcription_completed'));
    const types = events.map((e) => e.type);
    expect(types.indexOf('input_audio_transcription_completed')).toBeGreaterThan(types.indexOf('metrics_collected'));
    const final = events.find((e) => e.type === 'input_audio_transcription_completed')!.ev;
    expect(final.turnStartedAt).toBe(events.find((e) => e.type === 'metrics_collected')!.ev.timestamp);
  });

  it('metricsMetadata: false leaves the metadata out, as the Node OpenAI plugin does', async () => {
    const { session, metrics } = track(setup({ metricsMetadata: false }));
    await consume(await session.generateReply('greet'));
    await waitFor(() => metrics().length === 1);
    expect(metrics()[0]!.metadata).toBeUndefined();
  });

  it('with client turn detection it emits no speech events and answers what commitAudio committed', async () => {
    const { model, session, events } = track(setup({ turnDetection: null }));
    model.transcriber.expect({ transcript: 'how is the weather' });
    await session.updateTools(weatherTools());
    push(session, 500, true);
    push(session, 600, false);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events).toEqual([]);
    await session.commitAudio();
    const out = await consume(await session.generateReply());
    expect(out.calls.map((c) => c.name)).toEqual(['get_weather']);
  });
});

describe('ScriptedRealtimeModel in an AgentSession with VAD turn detection', () => {
  it('is driven by the session VAD: commitAudio + generateReply, one metrics per response', async () => {
    const model = new ScriptedRealtimeModel({ replies: REPLIES, turnDetection: null, seed: 3 });
    const user = new ScriptedUser({ stt: model.transcriber });
    // the session's default turn detection is the TurnDetector model (it wants >= 250 ms of VAD
    // silence and a cloud inference): ask for plain VAD turn detection
    const session = new voice.AgentSession({ llm: model, vad: new EnergyVAD(), turnHandling: { turnDetection: 'vad' } });
    session.input.audio = user.audioInput;
    session.output.audio = new SimulatedAudioOutput(4);
    const metrics: RealtimeModelMetrics[] = [];
    const userStates: string[] = [];
    const transcripts: string[] = [];
    session.on(voice.AgentSessionEventTypes.MetricsCollected, (ev) => ev.metrics.type === 'realtime_model_metrics' && metrics.push(ev.metrics));
    session.on(voice.AgentSessionEventTypes.UserStateChanged, (ev) => userStates.push(ev.newState));
    session.on(voice.AgentSessionEventTypes.UserInputTranscribed, (ev) => ev.isFinal && transcripts.push(ev.transcript));
    const rtSession = () => model.sessions[0]!;
    const speechEvents: string[] = [];
    const agent = new voice.Agent({
      instructions: 'You are the front desk.',
      tools: { get_weather: llm.tool({ description: 'Current weather.', parameters: CITY, execute: async () => 'sunny' }) },
    });
    user.start();
    try {
      await session.start({ agent });
      rtSession().on('input_speech_started', () => speechEvents.push('started'));
      await session.generateReply({ instructions: 'greet the caller' }).waitForPlayout();
      const replied = new Promise<void>((resolve) =>
        session.on(voice.AgentSessionEventTypes.ConversationItemAdded, (ev) => {
          if (ev.item.type === 'message' && ev.item.role === 'assistant' && ev.item.textContent === 'It is sunny in Paris.') resolve();
        }),
      );
      await user.say('how is the weather in Paris');
      await replied;
      await new Promise((resolve) => setTimeout(resolve, 1200));
    } finally {
      await session.close();
      await user.stop();
    }
    // the VAD (not the model) detected the user's speech
    expect(speechEvents).toEqual([]);
    expect(userStates).toContain('speaking');
    expect(transcripts).toEqual(['how is the weather in Paris']);
    expect(model.responses.map((r) => [r.userInitiated, r.toolCalls, r.text])).toEqual([
      [true, [], 'Hello there!'],
      [true, ['get_weather'], ''],
      [true, [], 'It is sunny in Paris.'],
    ]);
    expect(metrics.map((m) => m.requestId)).toEqual(model.responses.map((r) => r.responseId));
    expect(metrics[1]!.ttftMs).toBe(-1);
    // client-side commits send the whole buffer since the last commit, silence included
    expect(metrics[1]!.inputTokenDetails.audioTokens).toBeGreaterThan(15);
  }, 30_000);
});
