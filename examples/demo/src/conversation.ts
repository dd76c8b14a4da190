import { llm, voice } from '@livekit/agents';
import {
  EnergyVAD,
  ScriptedLLM,
  ScriptedSTT,
  ScriptedTTS,
  ScriptedUser,
  SimulatedAudioOutput,
  type ScriptedReply,
} from '@voicetrace/scripted-plugins';
import { z } from 'zod';

/** What the scripted model answers; matched against the newest user message or tool output. */
const REPLIES: ScriptedReply[] = [
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
  { when: 'that is all', text: 'You are welcome. Have a great day, goodbye!' },
];

/** The two agents of the demo call: a front desk that hands billing questions off. */
export function createAgents(): { frontDesk: voice.Agent; billing: voice.Agent } {
  const billing = new voice.Agent({
    id: 'billing',
    instructions: 'You are the billing specialist. Answer questions about invoices and payments.',
  });
  const frontDesk = new voice.Agent({
    id: 'front_desk',
    instructions: 'You are the front desk of Acme. Be brief. Hand billing questions to billing.',
    tools: {
      get_weather: llm.tool({
        description: 'Current weather for a city.',
        parameters: z.object({ city: z.string() }),
        execute: async ({ city }) => {
          await new Promise((resolve) => setTimeout(resolve, 120));
          return { city, temperatureC: 18, condition: 'sunny' };
        },
      }),
      transfer_to_billing: llm.tool({
        description: 'Transfer the caller to the billing specialist.',
        parameters: z.object({ reason: z.string() }),
        execute: async () => llm.handoff({ agent: billing, returns: 'Transferred to billing.' }),
      }),
    },
  });
  return { frontDesk, billing };
}

/** Scripted providers with seeded, realistic latencies. */
export function createPlugins(seed = 42) {
  const stt = new ScriptedSTT({ seed });
  return {
    stt,
    // STT endpointing (turnDetection: 'stt'), no turn detector: the VAD keeps its short 120 ms silence
    vad: new EnergyVAD({ minSilenceMs: 120 }),
    llm: new ScriptedLLM({ replies: REPLIES, seed: seed + 1 }),
    tts: new ScriptedTTS({ seed: seed + 2 }),
    user: new ScriptedUser({ stt }),
    audioOutput: new SimulatedAudioOutput(4),
  };
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
function nextReply(session: voice.AgentSession): Promise<void> {
  return nextAgentState(session, 'speaking').then(() => nextAgentState(session, 'listening'));
}

/**
 * The call: a greeting via `say()`, a tool call, a long answer the user
 * interrupts, a handoff to billing, a billing answer and a goodbye.
 */
export async function runConversation(session: voice.AgentSession, user: ScriptedUser): Promise<void> {
  await session.say('Hello, thanks for calling Acme. How can I help you today?').waitForPlayout();
  for (const text of ['Hi, what is the weather like in Paris today?', 'Great, and what are your opening hours?']) {
    const reply = nextReply(session);
    await user.say(text);
    await reply;
  }
  // the third answer is long: the user cuts in while the agent speaks
  const speaking = nextAgentState(session, 'speaking');
  await user.say('And on Sundays, what are your opening hours?');
  await speaking;
  await new Promise((resolve) => setTimeout(resolve, 600));
  const interrupted = nextAgentState(session, 'listening');
  await user.say('Sorry, actually I have a question about my bill.');
  await interrupted;
  await nextReply(session);
  for (const text of ['Why was I charged twice this month?', 'Okay thanks, that is all.']) {
    const reply = nextReply(session);
    await user.say(text);
    await reply;
  }
}
