import { FRAME_MS, ScriptedAudioInput, makeFrame } from './audio.js';
import type { ScriptedSTT } from './stt.js';
import { sleep } from './random.js';

/** Options of {@link ScriptedUser}. */
export interface ScriptedUserOptions {
  stt: ScriptedSTT;
  /** Speaking rate: milliseconds of speech per word. */
  msPerWord?: number | undefined;
}

/**
 * The person on the call: a microphone that streams 20 ms frames in real time,
 * silence by default and "speech" (a tone) while {@link ScriptedUser.say} runs,
 * with the words queued on the STT so its transcripts match what was "said".
 */
export class ScriptedUser {
  readonly audioInput = new ScriptedAudioInput();
  private speakingUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly msPerWord: number;

  constructor(private readonly options: ScriptedUserOptions) {
    this.msPerWord = options.msPerWord ?? 180;
  }

  /** Starts streaming microphone frames. */
  start(): void {
    if (this.timer) return;
    let next = Date.now();
    const tick = (): void => {
      // catch up on frames a slow event loop delayed, as a real track's buffer would
      while (next <= Date.now()) {
        this.audioInput.push(makeFrame(FRAME_MS, next < this.speakingUntil));
        next += FRAME_MS;
      }
      this.timer = setTimeout(tick, Math.max(1, next - Date.now()));
    };
    tick();
  }

  /** Speaks `transcript` (duration follows the word count); resolves when speech ends. */
  async say(transcript: string, confidence = 0.94): Promise<void> {
    this.options.stt.expect({ transcript, confidence });
    const words = transcript.split(/\s+/).filter(Boolean).length;
    const durationMs = Math.max(400, words * this.msPerWord);
    this.speakingUntil = Date.now() + durationMs;
    await sleep(durationMs);
  }

  /**
   * Makes a sound with no words for `durationMs` (a cough, an "uh-huh", a mumble): speech-level
   * audio the VAD hears, nothing queued on the STT, so no transcript comes of it.
   */
  async sound(durationMs: number): Promise<void> {
    this.speakingUntil = Date.now() + durationMs;
    await sleep(durationMs);
  }

  /** Stops the microphone. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.audioInput.close();
  }
}
