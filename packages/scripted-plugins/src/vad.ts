import { VAD, VADEventType, VADStream, type VADEvent } from '@livekit/agents';
import type { AudioFrame } from '@livekit/rtc-node';
import { frameRms } from './audio.js';
import { withDefaults } from './options.js';

/** Options of {@link EnergyVAD}. */
export interface EnergyVADOptions {
  /** RMS (0..1) above which a frame counts as speech. */
  threshold?: number | undefined;
  /** Speech needed before START_OF_SPEECH, in ms. */
  minSpeechMs?: number | undefined;
  /**
   * Silence needed before END_OF_SPEECH, in ms. Default 250: `@livekit/agents` 1.9 refuses to start a
   * session whose turn detector (the default one included) is paired with a VAD below 250 ms.
   * With STT endpointing (`turnDetection: 'stt'`) a shorter value is allowed.
   */
  minSilenceMs?: number | undefined;
  /** Simulated model inference time per frame, in ms (a real VAD reports its own). */
  inferenceMs?: number | undefined;
}

/**
 * A real, if simple, voice activity detector: it thresholds each frame's RMS
 * energy. It emits the same events as Silero's plugin (INFERENCE_DONE per frame,
 * START/END_OF_SPEECH on transitions), so the SDK emits genuine `vad_metrics`.
 */
export class EnergyVAD extends VAD {
  label = 'voicetrace.EnergyVAD';
  readonly options: Required<EnergyVADOptions>;

  constructor(options: EnergyVADOptions = {}) {
    // updateInterval 1000 ms: the SDK then emits vad_metrics once per detected speech start.
    super({ updateInterval: 1000 });
    this.options = withDefaults<Required<EnergyVADOptions>>({ threshold: 0.05, minSpeechMs: 40, minSilenceMs: 250, inferenceMs: 0.4 }, options);
  }

  override get minSilenceDuration(): number | null {
    return this.options.minSilenceMs;
  }

  stream(): VADStream {
    return new EnergyVADStream(this, this.options);
  }
}

class EnergyVADStream extends VADStream {
  private samplesIndex = 0;
  private speaking = false;
  private speechMs = 0;
  private silenceMs = 0;

  constructor(vad: VAD, private readonly options: Required<EnergyVADOptions>) {
    super(vad);
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      while (true) {
        const { done, value } = await this.inputReader.read();
        if (done) break;
        if (typeof value === 'symbol') {
          this.reset();
          continue;
        }
        this.process(value);
      }
    } catch {
      // the stream was closed under us: nothing left to detect
    }
  }

  private reset(): void {
    this.speaking = false;
    this.speechMs = 0;
    this.silenceMs = 0;
  }

  private process(frame: AudioFrame): void {
    const frameMs = (frame.samplesPerChannel / frame.sampleRate) * 1000;
    this.samplesIndex += frame.samplesPerChannel;
    const probability = frameRms(frame) > this.options.threshold ? 0.98 : 0.02;
    const isSpeech = probability > 0.5;
    if (isSpeech) {
      this.speechMs += frameMs;
      this.silenceMs = 0;
    } else {
      this.silenceMs += frameMs;
      if (!this.speaking) this.speechMs = 0;
    }
    const base = (type: VADEventType): VADEvent => ({
      type,
      samplesIndex: this.samplesIndex,
      timestamp: Date.now(),
      // the SDK reads these in milliseconds (its barge-in check compares them with minDuration in ms)
      speechDuration: this.speechMs,
      silenceDuration: this.silenceMs,
      frames: [frame],
      probability,
      inferenceDuration: this.options.inferenceMs,
      speaking: this.speaking,
      rawAccumulatedSilence: this.silenceMs,
      rawAccumulatedSpeech: this.speechMs,
    });
    this.sendVADEvent(base(VADEventType.INFERENCE_DONE));
    if (!this.speaking && this.speechMs >= this.options.minSpeechMs) {
      this.speaking = true;
      this.sendVADEvent({ ...base(VADEventType.START_OF_SPEECH), speaking: true });
    } else if (this.speaking && this.silenceMs >= this.options.minSilenceMs) {
      this.speaking = false;
      this.sendVADEvent({ ...base(VADEventType.END_OF_SPEECH), speaking: false });
      this.speechMs = 0;
    }
  }
}

