import { llm, voice } from '@livekit/agents';
import {
  EnergyVAD,
  ScriptedLLM,
  ScriptedSTT,
  ScriptedTTS,
  ScriptedUser,
  SimulatedAudioOutput,
  type LatencyRange,
  type ScriptedLLMOptions,
  type ScriptedReply,
  type ScriptedSTTOptions,
  type ScriptedTTSOptions,
} from '@voicetrace/scripted-plugins';
import { z } from 'zod';

/** What the scripted model answers; matched against the newest user message or tool output. */
export const REPLIES: ScriptedReply[] = [
  { when: 'weather', toolCalls: [{ name: 'get_weather', args: { city: 'Paris' } }] },
  { when: 'tool:get_weather', text: 'It is eighteen degrees and sunny in Paris right now. Anything else?' },
  {
    when: 'opening hours',
    text:
      'Our stores open at nine in the morning and close at eight in the evening from Monday to Saturday. ' +
      'On Sundays we open at ten and close at six. Public holidays can differ, so check the store page. ' +
      'We also have late opening until ten on the first Friday of every month.',
  },
  { when: 'bill', toolCalls: [{ name: 'transfer_to_billing', args: { reason: 'billing question' } }] },
  { when: 'tool:transfer_to_billing', text: 'You are now with billing. How can I help with your bill?' },
  {
    when: 'charged twice',
    text: 'I can see two payments this month. The second one is a pending authorization and will drop off within three days.',
  },
  { when: 'front desk', toolCalls: [{ name: 'transfer_to_front_desk', args: {} }] },
  { when: 'tool:transfer_to_front_desk', text: 'Hello again, this is the front desk of Acme. What else can I do for you?' },
  { when: 'that is all', text: 'You are welcome. Have a great day, goodbye!' },
];

/** Agent-side delays, to show where the agent's own code spends the wait. */
export interface AgentDelays {
  /** Time spent in `onUserTurnCompleted` (e.g. a RAG lookup), in ms. Default 0. */
  onUserTurnCompletedMs?: number | undefined;
  /** Time the weather tool takes, in ms. Default 120. */
  toolMs?: number | undefined;
  /**
   * The weather tool fails (a `ToolError` the model is told about), as a broken backend would:
   * always, or on the calls (1-based) the function picks. Default false.
   */
  toolFails?: boolean | ((call: number) => boolean) | undefined;
}

/** The front desk, which runs the agent's own code on every user turn. */
class FrontDesk extends voice.Agent {
  constructor(
    options: ConstructorParameters<typeof voice.Agent>[0],
    private readonly turnCompletedMs: number,
  ) {
    super(options);
  }

  override async onUserTurnCompleted(): Promise<void> {
    if (this.turnCompletedMs > 0) await new Promise((resolve) => setTimeout(resolve, this.turnCompletedMs));
  }
}

/** The two agents of the demo call: a front desk that hands billing questions off, and billing, which hands back. */
export function createAgents(delays: AgentDelays = {}): { frontDesk: voice.Agent; billing: voice.Agent } {
  const agents: { frontDesk?: voice.Agent; billing?: voice.Agent } = {};
  let weatherCalls = 0;
  agents.billing = new voice.Agent({
    id: 'billing',
    instructions: 'You are the billing specialist. Answer questions about invoices and payments.',
    tools: {
      transfer_to_front_desk: llm.tool({
        description: 'Transfer the caller back to the front desk.',
        parameters: z.object({}),
        execute: async () => llm.handoff({ agent: agents.frontDesk!, returns: 'Transferred to the front desk.' }),
      }),
    },
  });
  agents.frontDesk = new FrontDesk(
    {
      id: 'front_desk',
      instructions: 'You are the front desk of Acme. Be brief. Hand billing questions to billing.',
      tools: {
        get_weather: llm.tool({
          description: 'Current weather for a city.',
          parameters: z.object({ city: z.string() }),
          execute: async ({ city }) => {
            await new Promise((resolve) => setTimeout(resolve, delays.toolMs ?? 120));
            weatherCalls += 1;
            const fails = typeof delays.toolFails === 'function' ? delays.toolFails(weatherCalls) : delays.toolFails;
            if (fails) throw new llm.ToolError('the weather service is unavailable');
            return { city, temperatureC: 18, condition: 'sunny' };
          },
        }),
        transfer_to_billing: llm.tool({
          description: 'Transfer the caller to the billing specialist.',
          parameters: z.object({ reason: z.string() }),
          execute: async () => llm.handoff({ agent: agents.billing!, returns: 'Transferred to billing.' }),
        }),
      },
    },
    delays.onUserTurnCompletedMs ?? 0,
  );
  return { frontDesk: agents.frontDesk, billing: agents.billing };
}

/** How to tune the scripted providers (slower, fixed latencies, how the TTS sends text, playout). */
export interface PluginOptions {
  seed?: number | undefined;
  /** Latency multipliers per provider, e.g. `{ llm: 1.5 }` makes the LLM's TTFT and streaming 50% slower. */
  slow?: { llm?: number | undefined; stt?: number | undefined; tts?: number | undefined } | undefined;
  llm?: Partial<ScriptedLLMOptions> | undefined;
  stt?: ScriptedSTTOptions | undefined;
  tts?: ScriptedTTSOptions | undefined;
  /** The simulated speaker: how much faster than real time it plays (default 4), and its start delay (ms). */
  output?: { playbackSpeed?: number | undefined; startDelayMs?: number | undefined } | undefined;
}

const scale = (range: LatencyRange, factor = 1): LatencyRange => ({ minMs: range.minMs * factor, maxMs: range.maxMs * factor });

/** Scripted providers with seeded, realistic latencies. */
export function createPlugins(options: PluginOptions | number = {}) {
  const o: PluginOptions = typeof options === 'number' ? { seed: options } : options;
  const seed = o.seed ?? 42;
  const slow = o.slow ?? {};
  const stt = new ScriptedSTT({ seed, finalDelay: scale(o.stt?.finalDelay ?? { minMs: 120, maxMs: 320 }, slow.stt), ...withoutUndefined({ ...o.stt, finalDelay: undefined }) });
  return {
    stt,
    // STT endpointing (turnDetection: 'stt'), no turn detector: the VAD keeps its short 120 ms silence
    vad: new EnergyVAD({ minSilenceMs: 120 }),
    llm: new ScriptedLLM({
      replies: REPLIES,
      seed: seed + 1,
      ...withoutUndefined({ ...o.llm, ttft: undefined, interTokenMs: undefined }),
      ttft: scale(o.llm?.ttft ?? { minMs: 250, maxMs: 650 }, slow.llm),
      interTokenMs: scale(o.llm?.interTokenMs ?? { minMs: 8, maxMs: 20 }, slow.llm),
    }),
    tts: new ScriptedTTS({ seed: seed + 2, ...withoutUndefined({ ...o.tts, ttfb: undefined }), ttfb: scale(o.tts?.ttfb ?? { minMs: 120, maxMs: 260 }, slow.tts) }),
    user: new ScriptedUser({ stt }),
    audioOutput: new SimulatedAudioOutput(o.output?.playbackSpeed ?? 4, o.output?.startDelayMs ?? 0),
  };
}

/** The demo's pipeline providers, as {@link createPlugins} makes them. */
export type DemoPlugins = ReturnType<typeof createPlugins>;

/**
 * The demo's audio output cannot pause (a room's can): the SDK would ignore resuming a paused reply
 * and warn about it on every call, so the demo says so up front.
 */
export const NO_PAUSE = { resumeFalseInterruption: false } as const;

/**
 * The demo's `AgentSession` on its scripted providers, the caller's audio in and the simulated
 * speaker out: STT endpointing (no turn detector), 300 ms to 3 s by default.
 */
export function createPipelineSession(plugins: DemoPlugins, endpointing: { minDelay?: number | undefined; maxDelay?: number | undefined } = {}): voice.AgentSession {
  const session = new voice.AgentSession({
    stt: plugins.stt,
    vad: plugins.vad,
    llm: plugins.llm,
    tts: plugins.tts,
    turnHandling: {
      turnDetection: 'stt',
      endpointing: { minDelay: endpointing.minDelay ?? 300, maxDelay: endpointing.maxDelay ?? 3000 },
      interruption: NO_PAUSE,
    },
  });
  session.input.audio = plugins.user.audioInput;
  session.output.audio = plugins.audioOutput;
  return session;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Resolves the next time the agent enters `state`. */
export function nextAgentState(session: voice.AgentSession, state: voice.AgentState, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      session.off(voice.AgentSessionEventTypes.AgentStateChanged, onChange);
      reject(new Error(`agent did not become ${state} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onChange = (ev: voice.AgentStateChangedEvent): void => {
      if (ev.newState !== state) return;
      clearTimeout(timer);
      session.off(voice.AgentSessionEventTypes.AgentStateChanged, onChange);
      resolve();
    };
    session.on(voice.AgentSessionEventTypes.AgentStateChanged, onChange);
  });
}

/** Resolves when the agent has spoken a reply and gone back to listening. */
export function nextReply(session: voice.AgentSession): Promise<void> {
  return nextAgentState(session, 'speaking').then(() => nextAgentState(session, 'listening'));
}

/** One thing the caller says; `bargeIn`: said while the agent is still answering the previous one. */
interface Line {
  text: string;
  bargeIn?: boolean;
}

/**
 * The caller's lines for `turns` user turns: the demo's six (a tool call, a long answer, the same
 * long answer cut off by a barge-in that asks for billing, a billing answer, goodbye), looped for
 * longer calls: billing hands the caller back to the front desk, which greets again, and the
 * cycle (tool, barge-in, handoff) repeats. The last line is always the goodbye.
 */
export function callerLines(turns = 6, inject: Injections = {}): Line[] {
  const cycle: Line[] = [
    { text: 'Hi, what is the weather like in Paris today?' },
    { text: 'Great, and what are your opening hours?' },
    { text: 'And on Sundays, what are your opening hours?' },
    { text: 'Sorry, actually I have a question about my bill.', bargeIn: true },
    { text: 'Why was I charged twice this month?' },
    { text: 'Thanks, please put me back to the front desk.' },
  ];
  const lines: Line[] = [];
  for (let i = 0; i < Math.max(1, turns); i++) lines.push({ ...cycle[i % cycle.length]! });
  lines[lines.length - 1] = { text: 'Okay thanks, that is all.' };
  // the caller asks the previous turn's question again
  if (inject.repeat !== undefined && inject.repeat >= 2 && inject.repeat <= lines.length) lines[inject.repeat - 1] = { text: lines[inject.repeat - 2]!.text };
  return lines;
}

/**
 * Causes of quality signals on chosen turns (1-based user turns), for `--inject`: dead air (the LLM
 * answers that turn `seconds` later), a stop inside the answer (the TTS delivers its second sentence
 * `seconds` after the first has played out), a cut-off (the caller goes on speaking 150 ms into the agent's
 * thinking, before its audio), a repeated request (the turn asks the previous turn's question again),
 * a hang-up (the call ends 300 ms into the agent's answer to that turn).
 */
export interface Injections {
  deadAir?: { turn: number; seconds: number } | undefined;
  /** The answer to `turn`: its second sentence's audio comes `seconds` after its first has played out. */
  ttsGap?: { turn: number; seconds: number } | undefined;
  cutOff?: number | undefined;
  repeat?: number | undefined;
  hangup?: number | undefined;
  /** The caller makes a 300 ms sound with no words 500 ms into the answer to this turn (too short to stop the agent). */
  backchannel?: number | undefined;
  /** Before this turn's words, the caller mumbles for 800 ms and the STT transcribes nothing; the words follow 3 s later. */
  missed?: number | undefined;
  /** The weather tool fails on this turn (it must be a turn that asks for the weather: 1, 7, ...). */
  toolError?: number | undefined;
}

/** `dead-air=3:2.5`, `tts-gap=2:0.8`, `cut-off=2`, `repeat=4`, `hangup=5`, `backchannel=2`, `missed=4`, `tool-error=1` into {@link Injections} (merged into `into`); a message when malformed. */
export function parseInjection(spec: string, into: Injections = {}): Injections | string {
  const [name, value = ''] = spec.split('=');
  const turn = (raw: string | undefined) => (raw !== undefined && /^\d+$/.test(raw) && Number(raw) >= 1 ? Number(raw) : undefined);
  switch (name) {
    case 'dead-air':
    case 'tts-gap': {
      const [t, seconds] = value.split(':');
      if (turn(t) === undefined || !(Number(seconds) > 0)) return `${name} takes TURN:SECONDS, e.g. ${name}=3:2.5, not ${spec}`;
      return { ...into, [name === 'dead-air' ? 'deadAir' : 'ttsGap']: { turn: turn(t)!, seconds: Number(seconds) } };
    }
    case 'cut-off':
    case 'repeat':
    case 'hangup':
    case 'backchannel':
    case 'missed':
    case 'tool-error': {
      if (turn(value) === undefined) return `${name} takes a turn number, e.g. ${name}=2, not ${spec}`;
      const key = ({ 'cut-off': 'cutOff', 'tool-error': 'toolError' } as Record<string, string>)[name] ?? name;
      return { ...into, [key]: turn(value) };
    }
    default:
      return `--inject takes dead-air=TURN:SECONDS, tts-gap=TURN:SECONDS, cut-off=TURN, repeat=TURN, hangup=TURN, backchannel=TURN, missed=TURN or tool-error=TURN, not ${spec}`;
  }
}

/** What the scripted model answers to `line` (following its tool call, when it calls one). */
export function answerTo(line: string): string | undefined {
  const key = line.toLowerCase();
  const reply = REPLIES.find((r) => !r.when.startsWith('tool:') && key.includes(r.when.toLowerCase()));
  const tool = reply?.toolCalls?.[0]?.name;
  return tool ? REPLIES.find((r) => r.when === `tool:${tool}`)?.text : reply?.text;
}

/** The sentences of `text`, as the scripted TTS sends them. */
export function sentencesOf(text: string): string[] {
  return text.split(/(?<=[.!?])\s+/).map((s) => s.trim()).filter(Boolean);
}

/**
 * The call: a greeting via `say()`, then the caller's lines (see {@link callerLines}); a line marked
 * `bargeIn` is said 600 ms into the agent's previous answer.
 */
export async function runConversation(
  session: voice.AgentSession,
  user: ScriptedUser,
  options: { turns?: number | undefined; greeting?: boolean | undefined; inject?: Injections | undefined } = {},
): Promise<void> {
  if (options.greeting !== false) await session.say('Hello, thanks for calling Acme. How can I help you today?').waitForPlayout();
  const inject = options.inject ?? {};
  const lines = callerLines(options.turns, inject);
  for (const [i, line] of lines.entries()) {
    const next = lines[i + 1];
    if (inject.cutOff === i + 1 && next) {
      // the caller was not done: they go on 150 ms into the agent's thinking, before its audio
      const thinking = nextAgentState(session, 'thinking');
      await user.say(line.text);
      await thinking;
      await new Promise((resolve) => setTimeout(resolve, 150));
      continue;
    }
    if (inject.missed === i + 1) {
      // a mumble the STT makes nothing of, then (3 s later, past the 2 s it is given to transcribe it) the words
      await user.sound(800);
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
    if (inject.backchannel === i + 1) {
      // "uh-huh" half a second into the answer: too short to interrupt it
      const speaking = nextAgentState(session, 'speaking');
      const listening = speaking.then(() => nextAgentState(session, 'listening', 60_000));
      await user.say(line.text);
      await speaking;
      await new Promise((resolve) => setTimeout(resolve, 500));
      await user.sound(300);
      await listening;
      continue;
    }
    if (inject.hangup === i + 1) {
      // the caller hangs up 300 ms into the agent's answer: the SDK closes as on a participant disconnect (no drain)
      const speaking = nextAgentState(session, 'speaking');
      await user.say(line.text);
      await speaking;
      await new Promise((resolve) => setTimeout(resolve, 300));
      session.shutdown({ drain: false, reason: voice.CloseReason.PARTICIPANT_DISCONNECTED });
      return;
    }
    if (next?.bargeIn) {
      // this answer is long: the caller cuts in while the agent speaks
      const speaking = nextAgentState(session, 'speaking');
      await user.say(line.text);
      await speaking;
      await new Promise((resolve) => setTimeout(resolve, 600));
      continue;
    }
    const reply = line.bargeIn ? nextAgentState(session, 'listening').then(() => nextReply(session)) : nextReply(session);
    await user.say(line.text);
    await reply;
  }
}
