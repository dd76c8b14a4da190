/**
 * Deepgram's live transcription API (`/v1/listen` over a WebSocket), as
 * `@livekit/agents-plugin-deepgram` 1.9.0 speaks it (src/stt.ts):
 * - connects to `${baseUrl}/v1/listen?model=..&encoding=linear16&sample_rate=..&interim_results=..&vad_events=true..`
 *   with `Authorization: Token <key>` (stt.ts:289-335);
 * - sends binary linear16 frames (only frames its AudioEnergyFilter passes: speech plus a 1 s cooldown),
 *   `{"type":"KeepAlive"}` every 5 s, `{"type":"Finalize"}` on flush and `{"type":"CloseStream"}` at the end
 *   (stt.ts:402-475);
 * - reads `SpeechStarted`, `Results` (`is_final`, `speech_final`, `metadata.request_id`,
 *   `channel.alternatives[0].transcript/confidence/words`), `UtteranceEnd` and `Metadata` (stt.ts:489-581);
 * - retries a dropped socket at once, then every 5-10 s (stt.ts:343-360).
 * Usage is the plugin's own: it reports the seconds of audio it sent every 5 s (`PeriodicCollector`,
 * _utils.ts), never the last partial window.
 */
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { SpeakingCaller, SpokenUtterance } from '../caller.js';
import { StandInServer, sleepUntil } from './base.js';

/** What the stand-in answers to the caller's n-th utterance. */
export interface TranscriptScript {
  text: string;
  /** Final transcript this long after the utterance's voice ended (ms): the provider's STT latency. */
  finalDelayMs: number;
  confidence?: number;
}

export interface DeepgramSttOptions {
  caller: SpeakingCaller;
  transcripts: TranscriptScript[];
  /** Close the socket abruptly (code 1011) this long after the n-th utterance's voice started: a dropped connection. */
  dropSocket?: { utterance: number; afterMs: number } | undefined;
}

/** The Deepgram stand-in: live transcription answering the caller's utterances with scripted transcripts. */
export async function startDeepgramStt(options: DeepgramSttOptions): Promise<StandInServer & { receivedAudioSeconds: () => number }> {
  const server = new StandInServer('deepgram');
  const sockets = new Set<WebSocket>();
  let bytes = 0;
  let sampleRate = 16_000;
  server.websocket('/v1/listen', (socket: WebSocket, req: IncomingMessage) => {
    const url = new URL(req.url ?? '/', 'http://x');
    sampleRate = Number(url.searchParams.get('sample_rate') ?? 16_000);
    const requestId = `dg-${server.events.length}`;
    sockets.add(socket);
    server.log('listen', 'connect', { requestId, model: url.searchParams.get('model'), auth: req.headers.authorization });
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        bytes += data.byteLength;
        server.log('listen', 'audio', { bytes: data.byteLength, seconds: data.byteLength / 2 / sampleRate });
        return;
      }
      const message = JSON.parse(data.toString()) as { type?: string };
      server.log('listen', 'control', { message: message.type });
      if (message.type === 'CloseStream') socket.close(1000);
    });
    socket.on('close', () => {
      sockets.delete(socket);
      server.log('listen', 'close', { requestId });
    });
    (socket as WebSocket & { requestId?: string }).requestId = requestId;
  });
  const send = (payload: object): void => {
    for (const socket of sockets) socket.send(JSON.stringify(payload));
  };
  const results = (text: string, isFinal: boolean, confidence: number, start: number, end: number): object => {
    const words = text.split(/\s+/).filter(Boolean);
    const step = (end - start) / Math.max(1, words.length);
    return {
      type: 'Results',
      channel_index: [0, 1],
      duration: end - start,
      start,
      is_final: isFinal,
      speech_final: isFinal,
      from_finalize: false,
      channel: {
        alternatives: [{
          transcript: text,
          confidence,
          words: words.map((w, i) => ({ word: w.toLowerCase().replace(/[^a-z0-9']/g, ''), punctuated_word: w, start: start + i * step, end: start + (i + 1) * step, confidence })),
        }],
      },
      metadata: { request_id: [...sockets].map((s) => (s as WebSocket & { requestId?: string }).requestId)[0] ?? 'dg', model_info: { name: 'general-nova-3', version: '2024-01-01', arch: 'nova-3' } },
    };
  };
  // Deepgram times words on the audio it received (seconds since the stream's first byte); the
  // plugin's energy filter leaves silence out, so that clock runs behind the wall clock, as it does live
  const audioClock = (): number => bytes / 2 / sampleRate;
  options.caller.on('voice_start', (spoken: SpokenUtterance) => {
    const script = options.transcripts[spoken.index];
    if (!script) return;
    send({ type: 'SpeechStarted', channel: [0], timestamp: audioClock() });
    server.log('listen', 'speech_started', { utterance: spoken.index });
    const drop = options.dropSocket;
    if (drop && drop.utterance === spoken.index) {
      setTimeout(() => {
        for (const socket of sockets) socket.terminate();
        server.log('listen', 'fault', { fault: 'dropped_socket', utterance: spoken.index });
      }, drop.afterMs);
    }
  });
  options.caller.on('voice_end', (spoken: SpokenUtterance) => {
    const script = options.transcripts[spoken.index];
    if (!script) return;
    const end = audioClock();
    const start = Math.max(0, end - (spoken.voiceEndAt - spoken.voiceStartAt) / 1000);
    // an interim result right away, the final one after the scripted delay
    const words = script.text.split(/\s+/);
    send(results(words.slice(0, Math.max(1, words.length - 2)).join(' '), false, (script.confidence ?? 0.95) - 0.1, start, end));
    void sleepUntil(spoken.voiceEndAt + script.finalDelayMs).then(() => {
      const connected = sockets.size > 0;
      send(results(script.text, true, script.confidence ?? 0.95, start, end));
      server.log('listen', 'final_transcript', { utterance: spoken.index, text: script.text, delivered: connected });
    });
  });
  await server.listen();
  return Object.assign(server, { receivedAudioSeconds: () => bytes / 2 / sampleRate });
}
