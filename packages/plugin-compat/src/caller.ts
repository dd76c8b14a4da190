import { voice } from '@livekit/agents';
import { AudioFrame } from '@livekit/rtc-node';
import { synthesizeSpeech } from '@voicetrace/test-backends';
import { EventEmitter } from 'node:events';
import { ReadableStream, type ReadableStreamDefaultController } from 'node:stream/web';

/** The caller's microphone rate: a LiveKit room's (48 kHz by default; 24 kHz for realtime agents, as a room delivers them). */
export const CALLER_SAMPLE_RATE = 48_000;
/** Frame length a room's audio track delivers. */
const FRAME_MS = 10;

/** One utterance: espeak-ng speech and where its voice starts and ends in it. */
export interface Utterance {
  text: string;
  samples: Int16Array;
  /** Offset of the first and last voiced 10 ms window, in seconds from the utterance's first sample. */
  voiceStart: number;
  voiceEnd: number;
}

/** What the caller said, on the wall clock (epoch ms), from the samples it pushed. */
export interface SpokenUtterance {
  index: number;
  text: string;
  /** When the utterance's first voiced sample was played into the microphone. */
  voiceStartAt: number;
  /** When its last voiced sample was played. */
  voiceEndAt: number;
}

const utterances = new Map<string, Promise<Utterance>>();

/** espeak-ng's speech for `text` at `sampleRate`, with its voiced bounds (cached per process). */
export function utterance(text: string, sampleRate = CALLER_SAMPLE_RATE): Promise<Utterance> {
  const key = `${sampleRate}|${text}`;
  let found = utterances.get(key);
  if (!found) {
    found = synthesizeSpeech(text, { sampleRate }).then(({ samples }) => ({ text, samples, ...voicedBounds(samples, sampleRate) }));
    utterances.set(key, found);
  }
  return found;
}

/** First and last 10 ms window above -40 dBFS: where a listener hears the voice. */
export function voicedBounds(samples: Int16Array, sampleRate = CALLER_SAMPLE_RATE): { voiceStart: number; voiceEnd: number } {
  const window = Math.round(sampleRate / 100);
  let first = -1;
  let last = -1;
  for (let start = 0; start + window <= samples.length; start += window) {
    let sum = 0;
    for (let i = start; i < start + window; i++) sum += (samples[i]! / 32768) ** 2;
    if (Math.sqrt(sum / window) > 0.01) {
      if (first < 0) first = start;
      last = start + window;
    }
  }
  if (first < 0) return { voiceStart: 0, voiceEnd: 0 };
  return { voiceStart: first / sampleRate, voiceEnd: last / sampleRate };
}

/**
 * The person on the call: an `AudioInput` (the path a room's track takes into the session) that
 * plays 10 ms frames on the wall clock, silence unless an utterance is playing. Each utterance's
 * voiced bounds are known on the wall clock: the truth every timing figure is checked against.
 * Emits `voice_start` and `voice_end` (a {@link SpokenUtterance}) as an utterance's voice begins
 * and ends playing, for the provider stand-ins that answer it.
 */
export class SpeakingCaller extends EventEmitter {
  readonly audioInput: CallerAudioInput;
  readonly spoken: SpokenUtterance[] = [];
  private queue: Array<{ utterance: Utterance; index: number; resolve: () => void; offset: number; startedAt?: number; voiceStarted?: boolean; voiceEnded?: boolean }> = [];
  private timer: NodeJS.Timeout | undefined;
  private clock = 0;
  private next = 0;
  private count = 0;

  private readonly frameSamples: number;

  constructor(readonly sampleRate = CALLER_SAMPLE_RATE) {
    super();
    this.audioInput = new CallerAudioInput();
    this.frameSamples = (sampleRate * FRAME_MS) / 1000;
  }

  /** Starts the microphone. */
  start(): void {
    if (this.timer) return;
    this.clock = Date.now();
    this.next = this.clock;
    this.tick();
  }

  /** Says `text`; resolves when its last sample has been played, with its wall-clock voiced bounds. */
  async say(text: string): Promise<SpokenUtterance> {
    const speech = await utterance(text, this.sampleRate);
    const index = this.count++;
    await new Promise<void>((resolve) => this.queue.push({ utterance: speech, index, resolve, offset: 0 }));
    return this.spoken.find((s) => s.index === index)!;
  }

  /** Stops the microphone. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.audioInput.close();
  }

  private tick = (): void => {
    // catch up on frames a slow event loop delayed, as a track's jitter buffer would
    while (this.next <= Date.now()) {
      this.audioInput.push(this.frame(this.next));
      this.next += FRAME_MS;
    }
    this.timer = setTimeout(this.tick, Math.max(1, this.next - Date.now()));
  };

  /** The frame played at `at` (epoch ms, the ideal clock): the current utterance's samples, else silence. */
  private frame(at: number): AudioFrame {
    const data = new Int16Array(this.frameSamples);
    const current = this.queue[0];
    if (current) {
      const { utterance: u } = current;
      if (current.startedAt === undefined) {
        current.startedAt = at;
        this.spoken.push({ index: current.index, text: u.text, voiceStartAt: at + u.voiceStart * 1000, voiceEndAt: at + u.voiceEnd * 1000 });
      }
      const n = Math.min(this.frameSamples, u.samples.length - current.offset);
      data.set(u.samples.subarray(current.offset, current.offset + n));
      current.offset += n;
      if (!current.voiceStarted && current.offset >= u.voiceStart * this.sampleRate) {
        current.voiceStarted = true;
        this.emit('voice_start', this.spoken.find((s) => s.index === current.index)!);
      }
      if (!current.voiceEnded && current.offset >= u.voiceEnd * this.sampleRate) {
        current.voiceEnded = true;
        this.emit('voice_end', this.spoken.find((s) => s.index === current.index)!);
      }
      if (current.offset >= u.samples.length) {
        this.queue.shift();
        current.resolve();
      }
    }
    return new AudioFrame(data, this.sampleRate, 1, this.frameSamples);
  }
}

/** The caller's microphone as the session reads it. */
export class CallerAudioInput extends voice.AudioInput {
  readonly #controller: ReadableStreamDefaultController<AudioFrame>;
  #closed = false;

  constructor() {
    super();
    let controller!: ReadableStreamDefaultController<AudioFrame>;
    this.multiStream.addInputStream(new ReadableStream<AudioFrame>({ start: (c) => void (controller = c) }));
    this.#controller = controller;
  }

  push(frame: AudioFrame): void {
    if (!this.#closed) this.#controller.enqueue(frame);
  }

  override async close(): Promise<void> {
    this.#closed = true;
    await super.close();
  }
}
