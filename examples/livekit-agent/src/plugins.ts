import { llm, log, voice } from '@livekit/agents';
import { EnergyVAD, ScriptedLLM, ScriptedSTT, ScriptedTTS, type ScriptedReply } from '@voicetrace/scripted-plugins';
import { context, propagation } from '@opentelemetry/api';
import { z } from 'zod';

/** What the scripted model answers (a support line: weather tool, opening hours, billing handoff). */
const REPLIES: ScriptedReply[] = [
  { when: 'weather', toolCalls: [{ name: 'get_weather', args: { city: 'Paris' } }] },
  { when: 'tool:get_weather', text: 'It is eighteen degrees and sunny in Paris right now. Anything else?' },
  {
    when: 'opening hours',
    text:
      'Our stores open at nine in the morning and close at eight in the evening from Monday to Saturday. ' +
      'On Sundays we open at ten and close at six. Public holidays can differ, so check the store page before you come.',
  },
  { when: 'bill', toolCalls: [{ name: 'transfer_to_billing', args: { reason: 'billing question' } }] },
  { when: 'tool:transfer_to_billing', text: 'You are now with billing. How can I help with your bill?' },
  { when: 'charged twice', text: 'I can see two payments this month. The second one is a pending authorization.' },
  { when: 'that is all', text: 'You are welcome. Goodbye!' },
];

/** The weather answer's closing question: with `AGENT_TTS_GAP_MS` set, its audio comes that long after the answer's first sentence played (a test's cause of dead air inside a reply). */
export const LATE_SENTENCE = 'Anything else?';

/**
 * The session's providers. By default the scripted, offline ones (no keys). Set `AGENT_STT`,
 * `AGENT_LLM` and `AGENT_TTS` to LiveKit Inference model strings (for example `deepgram/nova-3`,
 * `openai/gpt-4o-mini`, `cartesia/sonic-2`) and point `LIVEKIT_URL`/`LIVEKIT_API_KEY`/`LIVEKIT_API_SECRET`
 * at LiveKit Cloud to run the same agent on real providers: configuration, not code.
 */
export function sessionProviders(env: NodeJS.ProcessEnv, vad: EnergyVAD): { scriptedStt: ScriptedSTT | undefined; options: Pick<voice.AgentSessionOptions, 'vad' | 'stt' | 'llm' | 'tts'> } {
  // espeak-ng pauses up to ~400 ms at commas: end an utterance after 500 ms of silence, as a provider's endpointing would
  const scriptedStt = new ScriptedSTT({ seed: 7, endpointingMs: 500 });
  return {
    scriptedStt: env.AGENT_STT ? undefined : scriptedStt,
    options: {
      vad,
      stt: (env.AGENT_STT as voice.AgentSessionOptions['stt']) ?? scriptedStt,
      llm: (env.AGENT_LLM as voice.AgentSessionOptions['llm']) ?? new ScriptedLLM({ replies: REPLIES, seed: 11 }),
      tts: (env.AGENT_TTS as voice.AgentSessionOptions['tts']) ?? new ScriptedTTS({ seed: 13, lateAudio: { ms: (text) => (text === LATE_SENTENCE ? Number(env.AGENT_TTS_GAP_MS ?? 0) : 0) } }),
    },
  };
}

/** The agents of the call: a front desk that answers and hands billing questions to billing. */
export function createAgents(options: { weatherUrl?: string | undefined } = {}): { frontDesk: voice.Agent } {
  const billing = new voice.Agent({ id: 'billing', instructions: 'You are the billing specialist.' });
  const frontDesk = new voice.Agent({
    id: 'front_desk',
    instructions: 'You are the front desk of Acme. Be brief. Hand billing questions to billing.',
    tools: {
      get_weather: llm.tool({
        description: 'Current weather for a city.',
        parameters: z.object({ city: z.string() }),
        execute: async ({ city }) => {
          // a real tool calls an API: with a registered provider the request carries the turn's traceparent
          if (options.weatherUrl) {
            // W3C trace context on the outgoing request, so the weather service's spans join this turn's trace
            const headers: Record<string, string> = {};
            propagation.inject(context.active(), headers);
            const response = await fetch(`${options.weatherUrl}?city=${encodeURIComponent(city)}`, { headers }).catch(() => undefined);
            if (response?.ok) return (await response.json()) as object;
            // through the SDK's logger: the line carries this turn's trace and span ids and is in the session report
            log().warn({ city, status: response?.status }, 'weather service unavailable, answering from the fallback');
          }
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
  return { frontDesk };
}
