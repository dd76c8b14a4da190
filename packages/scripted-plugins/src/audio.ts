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

  /** Sees each frame as it goes in (a recorder of the call). */
  onFrame: ((frame: AudioFrame) => void) | undefined;

  push(frame: AudioFrame): void {
    if (this.#closed) return;
    this.onFrame?.(frame);
    this.#controller.enqueue(frame);
  }

  override async close(): Promise<void> {
    this.#closed = true;
    await super.close();
  }
}

/**
 * A speaker that plays captured audio in (optionally accelerated) real time: playback starts with
 * the first frame, each frame plays after the ones before it or as soon as it arrives if they have
 * all played (the output ran dry), the segment finishes when its last frame has played, and it
 * stops at once when the agent is interrupted. Like LiveKit's room output it reports each stretch
 * that played without a stop (`playbackProgressed`); at `playbackSpeed` above 1 its times are the
 * wall clock's (how long a stretch took to play), so a stop reads in real seconds.
 */
export class SimulatedAudioOutput extends voice.AudioOutput {
  private segmentMs = 0;
  private started = false;
  private startedAt = 0;
  /** The current stretch: when it began to play, where it starts in the segment (played ms), and when it runs out. */
  private runStartedAt = 0;
  private runOffset = 0;
  private dryAt = 0;
  private finishTimer: NodeJS.Timeout | undefined;
  /** Total agent audio played, in seconds (what a recording would hold). */
  playedSeconds = 0;
  /** Sees each frame with the wall-clock ms it starts playing at (a recorder of the call), and each stop. */
  listener: { played(frame: AudioFrame, at: number, speed: number): void; stopped(at: number): void } | undefined;

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
      [this.runStartedAt, this.runOffset, this.dryAt] = [this.startedAt, 0, this.startedAt];
      this.onPlaybackStarted(this.startedAt);
    }
    const now = Date.now();
    if (now > this.dryAt) {
      // everything before this frame had played: the stretch ended when it ran out, a new one begins now
      this.reportRun(this.dryAt);
      [this.runStartedAt, this.runOffset, this.dryAt] = [now, this.playedMs(this.dryAt), now];
    }
    const frameMs = (frame.samplesPerChannel / frame.sampleRate) * 1000;
    this.listener?.played(frame, this.dryAt, this.playbackSpeed);
    this.segmentMs += frameMs;
    this.dryAt += frameMs / this.playbackSpeed;
  }

  override flush(): void {
    super.flush();
    if (!this.started) return;
    const remaining = Math.max(0, this.dryAt - Date.now());
    const segmentSeconds = this.segmentMs / 1000;
    this.finishTimer = setTimeout(() => this.finish(segmentSeconds, false, this.dryAt), remaining);
  }

  clearBuffer(): void {
    if (!this.started) return;
    if (this.finishTimer) clearTimeout(this.finishTimer);
    const stoppedAt = Math.min(Date.now(), this.dryAt);
    this.listener?.stopped(stoppedAt);
    this.finish(Math.min(this.segmentMs, this.playedMs(stoppedAt) * this.playbackSpeed) / 1000, true, stoppedAt);
  }

  /** Where the segment's playback is at `at` (wall-clock ms of audio played since its start). */
  private playedMs(at: number): number {
    return this.runOffset + Math.max(0, at - this.runStartedAt);
  }

  private reportRun(endedAt: number): void {
    const duration = endedAt - this.runStartedAt;
    if (duration > 0) this.onPlaybackProgressed({ startedAt: this.runStartedAt, offset: this.runOffset, duration });
  }

  private finish(playbackPosition: number, interrupted: boolean, endedAt: number): void {
    this.reportRun(endedAt);
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
