import { stt, type APIConnectOptions, type AudioBuffer, asLanguageCode } from '@livekit/agents';
import type { AudioFrame } from '@livekit/rtc-node';
import { frameRms } from './audio.js';
import { SeededRandom, drawLatency, type LatencyRange } from './random.js';
import { withDefaults } from './options.js';

/** What the scripted user will say next, as the STT provider will transcribe it. */
export interface ScriptedUtterance {
  transcript: string;
  /** Final-transcript confidence (0..1). */
  confidence?: number | undefined;
}

/** Options of {@link ScriptedSTT}. */
export interface ScriptedSTTOptions {
  provider?: string | undefined;
  model?: string | undefined;
  /** Provider transcription lag after the end of speech (final transcript), in ms. */
  finalDelay?: LatencyRange | undefined;
  /** Silence after which the provider declares end of speech, in ms. */
  endpointingMs?: number | undefined;
  seed?: number | undefined;
  /** RMS above which audio counts as speech. */
  threshold?: number | undefined;
}

/**
 * A streaming speech-to-text provider, offline. It listens to the audio it is
 * fed (speech is detected from the frames' energy, as a provider's own
 * endpointing does), and transcribes each utterance with the text queued by
 * {@link ScriptedSTT.expect}: START_OF_SPEECH, interim transcripts while the
 * user speaks, a FINAL_TRANSCRIPT after a seeded provider delay, END_OF_SPEECH
 * with the true end-of-speech time, and RECOGNITION_USAGE (audio seconds).
 */
export class ScriptedSTT extends stt.STT {
  label = 'voicetrace.ScriptedSTT';
  readonly options: Required<ScriptedSTTOptions>;
  readonly random: SeededRandom;
  private readonly pending: ScriptedUtterance[] = [];

  constructor(options: ScriptedSTTOptions = {}) {
    super({ streaming: true, interimResults: true, diarization: false, alignedTranscript: false });
    this.options = withDefaults<Required<ScriptedSTTOptions>>(
      {
        provider: 'deepgram',
        model: 'nova-3',
        finalDelay: { minMs: 120, maxMs: 320 },
        endpointingMs: 200,
        seed: 7,
        threshold: 0.05,
      },
      options,
    );
    this.random = new SeededRandom(this.options.seed);
  }

  override get provider(): string {
    return this.options.provider;
  }

  override get model(): string {
    return this.options.model;
  }

  /** Queues the transcript of the next utterance the user will speak. */
  expect(utterance: ScriptedUtterance): void {
    this.pending.push(utterance);
  }

  /** @internal */
  takeNext(): ScriptedUtterance | undefined {
    return this.pending.shift();
  }

  protected async _recognize(_frame: AudioBuffer): Promise<stt.SpeechEvent> {
    const next = this.takeNext();
    return {
      type: stt.SpeechEventType.FINAL_TRANSCRIPT,
      alternatives: [speechData(next?.transcript ?? '', next?.confidence ?? 0.9)],
    };
  }

  override stream(options?: { connOptions?: APIConnectOptions }): stt.SpeechStream {
    return new ScriptedSpeechStream(this, options?.connOptions);
  }
}


function speechData(text: string, confidence: number): stt.SpeechData {
  return { text, language: asLanguageCode('en'), startTime: 0, endTime: 0, confidence };
}

class ScriptedSpeechStream extends stt.SpeechStream {
  label = 'voicetrace.ScriptedSTT.stream';
  private readonly owner: ScriptedSTT;
  private inSpeech = false;
  private silenceMs = 0;
  private speechAudioMs = 0;
  private lastSpeechAt = 0;
  private interimWords = 0;
  private sinceInterimMs = 0;
  private current: ScriptedUtterance | undefined;
  private requestCount = 0;

  constructor(owner: ScriptedSTT, connOptions?: APIConnectOptions) {
    super(owner, undefined, connOptions);
    this.owner = owner;
  }

  protected async run(): Promise<void> {
    for await (const data of this.input) {
      if (typeof data === 'symbol') continue;
      this.onFrame(data);
    }
  }

  private onFrame(frame: AudioFrame): void {
    const frameMs = (frame.samplesPerChannel / frame.sampleRate) * 1000;
    const speech = frameRms(frame) > this.owner.options.threshold;
    if (speech) {
      if (!this.inSpeech) this.startUtterance();
      this.silenceMs = 0;
      this.speechAudioMs += frameMs;
      this.lastSpeechAt = Date.now();
      this.sinceInterimMs += frameMs;
      if (this.sinceInterimMs >= 250) this.sendInterim();
    } else if (this.inSpeech) {
      this.silenceMs += frameMs;
      this.speechAudioMs += frameMs;
      if (this.silenceMs >= this.owner.options.endpointingMs) this.endUtterance();
    }
  }

  private startUtterance(): void {
    this.inSpeech = true;
    this.interimWords = 0;
    this.sinceInterimMs = 0;
    this.speechAudioMs = 0;
    this.current = this.owner.takeNext();
    this.requestCount += 1;
    this.queue.put({ type: stt.SpeechEventType.START_OF_SPEECH, requestId: this.requestId() });
  }

  /**
   * The utterance's expected transcript, claimed at its first use: in a room the caller's announcement
   * (a text stream) can reach the agent after the first audio frames of the speech it announces.
   */
  private claimExpected(): ScriptedUtterance | undefined {
    this.current ??= this.owner.takeNext();
    return this.current;
  }

  private sendInterim(): void {
    this.sinceInterimMs = 0;
    this.claimExpected();
    const words = (this.current?.transcript ?? '').split(/\s+/).filter(Boolean);
    this.interimWords = Math.min(words.length, this.interimWords + 2);
    if (this.interimWords === 0) return;
    this.queue.put({
      type: stt.SpeechEventType.INTERIM_TRANSCRIPT,
      requestId: this.requestId(),
      alternatives: [speechData(words.slice(0, this.interimWords).join(' '), 0.6)],
    });
  }

  private endUtterance(): void {
    this.inSpeech = false;
    const utterance = this.claimExpected();
    const speechEndTime = this.lastSpeechAt;
    const audioSeconds = this.speechAudioMs / 1000;
    const requestId = this.requestId();
    const delayMs = drawLatency(this.owner.random, this.owner.options.finalDelay);
    // The provider's transcription lag is measured from the end of speech.
    const wait = Math.max(0, speechEndTime + delayMs - Date.now());
    setTimeout(() => {
      if (this.queue.closed) return;
      if (utterance?.transcript) {
        this.queue.put({
          type: stt.SpeechEventType.FINAL_TRANSCRIPT,
          requestId,
          alternatives: [speechData(utterance.transcript, utterance.confidence ?? 0.93)],
        });
      }
      this.queue.put({ type: stt.SpeechEventType.END_OF_SPEECH, requestId, speechEndTime });
      this.queue.put({
        type: stt.SpeechEventType.RECOGNITION_USAGE,
        requestId,
        recognitionUsage: { audioDuration: audioSeconds },
      });
    }, wait);
  }

  private requestId(): string {
    return `stt_req_${this.requestCount}`;
  }
}
