import { tts, type APIConnectOptions } from '@livekit/agents';
import type { AudioFrame } from '@livekit/rtc-node';
import { FRAME_MS, toneFrame } from './audio.js';
import { SeededRandom, drawLatency, sleep, type LatencyRange } from './random.js';
import { withDefaults } from './options.js';

/** Options of {@link ScriptedTTS}. */
export interface ScriptedTTSOptions {
  provider?: string | undefined;
  model?: string | undefined;
  voice?: string | undefined;
  /** Time to first audio byte after text is sent, in ms. */
  ttfb?: LatencyRange | undefined;
  /** Spoken rate: milliseconds of audio per character of text. */
  msPerCharacter?: number | undefined;
  /** Synthesis speed: audio is produced this many times faster than real time. */
  realtimeFactor?: number | undefined;
  seed?: number | undefined;
  sampleRate?: number | undefined;
  /**
   * When text goes to the provider. `sentence` (default), as real streaming plugins do: each
   * sentence is sent as soon as it is complete, so audio starts while the LLM still streams.
   * `flush`: only when the SDK flushes (the whole reply), which holds the first audio until the
   * LLM's last token (the text-aggregation wait a plugin like that causes).
   */
  sendOn?: 'sentence' | 'flush' | undefined;
  /**
   * Audio that comes late (the cause of dead air inside a reply): for a piece of text that is not
   * the first of its segment, `ms(text)` milliseconds after the segment's earlier audio has played
   * out (at `playbackSpeed`, the speed the output plays at), its audio arrives: the output runs dry
   * for that long. Default: never late.
   */
  lateAudio?: { ms: (text: string) => number; playbackSpeed?: number | undefined } | undefined;
}


/**
 * A streaming text-to-speech provider, offline. Each flushed segment of text is
 * "synthesized" into a low tone whose length follows the text (about 60 ms per
 * character, like natural speech), delivered in 20 ms frames after a seeded time
 * to first byte and faster than real time, so the SDK measures real TTFB,
 * characters and audio duration. It is a native streaming TTS: no stream adapter,
 * so no double-counted `tts_metrics`.
 */
export class ScriptedTTS extends tts.TTS {
  label = 'voicetrace.ScriptedTTS';
  readonly options: Required<ScriptedTTSOptions>;
  readonly random: SeededRandom;

  constructor(options: ScriptedTTSOptions = {}) {
    const resolved = withDefaults<Required<ScriptedTTSOptions>>(
      {
        provider: 'cartesia',
        model: 'sonic-2',
        voice: 'scripted-voice',
        ttfb: { minMs: 120, maxMs: 260 },
        msPerCharacter: 60,
        realtimeFactor: 8,
        seed: 13,
        sampleRate: 24_000,
        sendOn: 'sentence',
        lateAudio: { ms: () => 0 },
      },
      options,
    );
    super(resolved.sampleRate, 1, { streaming: true, alignedTranscript: false });
    this.options = resolved;
    this.random = new SeededRandom(resolved.seed);
  }

  override get model(): string {
    return this.options.model;
  }

  override get provider(): string {
    return this.options.provider;
  }

  synthesize(text: string, connOptions?: APIConnectOptions, abortSignal?: AbortSignal): tts.ChunkedStream {
    return new ScriptedChunkedStream(this, text, connOptions, abortSignal);
  }

  stream(options?: { connOptions?: APIConnectOptions }): tts.SynthesizeStream {
    return new ScriptedSynthesizeStream(this, options?.connOptions);
  }

  /** @internal Audio frames for `text`: a quiet 180 Hz tone, `msPerCharacter` per character. */
  framesFor(text: string): AudioFrame[] {
    const totalMs = Math.max(FRAME_MS, text.length * this.options.msPerCharacter);
    const frames: AudioFrame[] = [];
    for (let offset = 0; offset < totalMs; offset += FRAME_MS) frames.push(toneFrame(FRAME_MS, this.options.sampleRate, 180, 2000));
    return frames;
  }

  /** @internal How long producing `frames` takes the simulated provider, in ms. */
  synthesisTimeMs(frameCount: number): number {
    return (frameCount * FRAME_MS) / this.options.realtimeFactor;
  }
}

class ScriptedSynthesizeStream extends tts.SynthesizeStream {
  label = 'voicetrace.ScriptedTTS.stream';
  private readonly owner: ScriptedTTS;
  private segment = 0;
  /** The current segment's audio so far: when its first frame went out (wall ms) and how much (audio ms). */
  private audioStartedAt = 0;
  private audioMs = 0;

  constructor(owner: ScriptedTTS, connOptions?: APIConnectOptions) {
    super(owner, connOptions);
    this.owner = owner;
  }

  protected async run(): Promise<void> {
    let pending = '';
    // sentences sent to the provider are synthesized in order while more text arrives
    let synthesizing: Promise<void> = Promise.resolve();
    let firstOfSegment = true;
    const send = (text: string, last: boolean): void => {
      // nothing to say, and nothing said in this segment yet: no request at all
      if (!text.trim() && (!last || firstOfSegment)) return;
      if (firstOfSegment) {
        this.segment += 1;
        // TTFB is measured from here: the moment text first reaches the provider
        this.markStarted();
      }
      const segmentId = `tts_seg_${this.segment}`;
      const withTtfb = firstOfSegment;
      firstOfSegment = last;
      synthesizing = synthesizing.then(() => this.synthesize(text, segmentId, withTtfb, last));
    };
    for await (const data of this.input) {
      if (this.abortController.signal.aborted) return;
      if (typeof data === 'symbol') {
        // a flush: what is left of the segment goes now, and its audio ends the segment
        send(pending, true);
        pending = '';
        continue;
      }
      pending += data;
      if (this.owner.options.sendOn === 'sentence') {
        let boundary: RegExpExecArray | null;
        while ((boundary = /[.!?](\s+)/.exec(pending))) {
          const end = boundary.index + boundary[0].length;
          send(pending.slice(0, end), false);
          pending = pending.slice(end);
        }
      }
    }
    if (pending.trim()) send(pending, true);
    await synthesizing;
    this.queue.put(tts.SynthesizeStream.END_OF_STREAM);
  }

  /** One piece of text: the provider's first audio after its TTFB (first piece of a segment), then frames faster than real time. */
  private async synthesize(text: string, segmentId: string, firstOfSegment: boolean, last: boolean): Promise<void> {
    if (this.abortController.signal.aborted) return;
    if (firstOfSegment) await sleep(drawLatency(this.owner.random, this.owner.options.ttfb));
    else await this.late(text);
    // the segment's end with no text left still needs a final frame: a 20 ms silence
    const frames = text.trim() ? this.owner.framesFor(text) : [toneFrame(FRAME_MS, this.owner.options.sampleRate, 180, 0)];
    const pace = this.owner.synthesisTimeMs(1);
    for (let i = 0; i < frames.length; i++) {
      if (this.abortController.signal.aborted) return;
      if (firstOfSegment && i === 0) [this.audioStartedAt, this.audioMs] = [Date.now(), 0];
      this.audioMs += (frames[i]!.samplesPerChannel / frames[i]!.sampleRate) * 1000;
      this.queue.put({
        requestId: segmentId,
        segmentId,
        frame: frames[i]!,
        deltaText: i === 0 ? text : undefined,
        // the SDK emits the segment's metrics on its final frame: only the segment's last audio is final
        final: last && i === frames.length - 1,
      });
      if (i % 10 === 9) await sleep(pace * 10);
    }
  }

  /** Holds `text`'s audio until the segment's earlier audio has played out, plus the injected lateness. */
  private async late(text: string): Promise<void> {
    const { ms, playbackSpeed = 1 } = this.owner.options.lateAudio;
    const lateMs = ms(text.trim());
    if (!(lateMs > 0)) return;
    const playedOutAt = this.audioStartedAt + this.audioMs / playbackSpeed;
    await sleep(Math.max(0, playedOutAt - Date.now()) + lateMs);
  }
}

class ScriptedChunkedStream extends tts.ChunkedStream {
  label = 'voicetrace.ScriptedTTS.chunked';
  private readonly owner: ScriptedTTS;

  constructor(owner: ScriptedTTS, text: string, connOptions?: APIConnectOptions, abortSignal?: AbortSignal) {
    super(text, owner, connOptions, abortSignal);
    this.owner = owner;
  }

  protected async run(): Promise<void> {
    await sleep(drawLatency(this.owner.random, this.owner.options.ttfb));
    const frames = this.owner.framesFor(this.inputText);
    frames.forEach((frame, i) =>
      this.queue.put({ requestId: 'chunked', segmentId: 'chunked', frame, final: i === frames.length - 1 }),
    );
  }
}
