import { voice } from '@livekit/agents';
import { AudioFrame } from '@livekit/rtc-node';
import { ReadableStream, type ReadableStreamDefaultController } from 'node:stream/web';

export const SAMPLE_RATE = 16_000;
/** Frame length the scripted user pushes, as a real microphone track would. */
export const FRAME_MS = 20;

/** A mono frame of `durationMs` holding a sine tone (`amplitude` 0 gives silence). */
export function toneFrame(durationMs: number, sampleRate: number, hz: number, amplitude: number): AudioFrame {
  const samples = Math.floor((sampleRate * durationMs) / 1000);
  const data = new Int16Array(samples);
  if (amplitude) {
    for (let i = 0; i < samples; i++) data[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / sampleRate));
  }
  return new AudioFrame(data, sampleRate, 1, samples);
}

/** A frame of `durationMs` of silence, or of a 220 Hz tone standing in for speech. */
export function makeFrame(durationMs: number, speech: boolean, sampleRate = SAMPLE_RATE): AudioFrame {
  return toneFrame(durationMs, sampleRate, 220, speech ? 6000 : 0);
}

/**
 * The user's microphone: an `AudioInput` the caller pushes frames into. It is the
 * path a room's audio track takes into the session (VAD and STT read it).
 */
export class ScriptedAudioInput extends voice.AudioInput {
  readonly #controller: ReadableStreamDefaultController<AudioFrame>;
  #closed = false;

  constructor() {
    super();
    let controller!: ReadableStreamDefaultController<AudioFrame>;
    this.multiStream.addInputStream(
      new ReadableStream<AudioFrame>({
        start(streamController) {
          controller = streamController;
        },
      }),
    );
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

/**
 * A speaker that plays captured audio in (optionally accelerated) real time:
 * playback starts with the first frame, finishes when the flushed segment's
 * duration has elapsed, and stops at once when the agent is interrupted.
 */
export class SimulatedAudioOutput extends voice.AudioOutput {
  private segmentMs = 0;
  private started = false;
  private startedAt = 0;
  private finishTimer: NodeJS.Timeout | undefined;
  /** Total agent audio played, in seconds (what a recording would hold). */
  playedSeconds = 0;

  /**
   * @param playbackSpeed how much faster than real time a segment plays (its length is still measured in real audio)
   * @param startDelayMs how long the output takes from the first frame to audible playback (device or network buffering)
   */
  constructor(
    private readonly playbackSpeed = 1,
    private readonly startDelayMs = 0,
  ) {
    super(SAMPLE_RATE);
  }

  override async captureFrame(frame: AudioFrame): Promise<void> {
    await super.captureFrame(frame);
    if (!this.started) {
      this.started = true;
      if (this.startDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.startDelayMs));
      this.startedAt = Date.now();
      this.onPlaybackStarted(this.startedAt);
    }
    this.segmentMs += (frame.samplesPerChannel / frame.sampleRate) * 1000;
  }

  override flush(): void {
    super.flush();
    if (!this.started) return;
    const played = Date.now() - this.startedAt;
    const remaining = Math.max(0, this.segmentMs / this.playbackSpeed - played);
    const segmentSeconds = this.segmentMs / 1000;
    this.finishTimer = setTimeout(() => this.finish(segmentSeconds, false), remaining);
  }

  clearBuffer(): void {
    if (!this.started) return;
    if (this.finishTimer) clearTimeout(this.finishTimer);
    const position = Math.min(this.segmentMs, (Date.now() - this.startedAt) * this.playbackSpeed) / 1000;
    this.finish(position, true);
  }

  private finish(playbackPosition: number, interrupted: boolean): void {
    this.finishTimer = undefined;
    this.started = false;
    this.segmentMs = 0;
    this.playedSeconds += playbackPosition;
    this.onPlaybackFinished({ playbackPosition, interrupted });
  }
}

/** Root-mean-square level of a 16-bit frame, in 0..1: the energy our VAD and STT threshold. */
export function frameRms(frame: AudioFrame): number {
  const data = frame.data;
  if (data.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]! / 32768;
    sum += v * v;
  }
  return Math.sqrt(sum / data.length);
}
