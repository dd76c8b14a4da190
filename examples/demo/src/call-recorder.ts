/**
 * The demo's recording of its call. The SDK records only inside a LiveKit job (`session.start({ record:
 * true })` needs the job's session directory), and the demo runs none: this recorder listens to the
 * demo's own audio input (the caller's frames) and its simulated speaker (the agent's frames as they
 * play) and writes them as the SDK lays out its recording: stereo, the caller on the left, the agent on
 * the right, one wall-clock timeline from `startedAt`. The report then links each turn to its offset and
 * cuts its clips from it, as for a real call.
 */
import type { AudioFrame } from '@livekit/rtc-node';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

const RATE = 16_000;

/** One channel of the timeline, grown as audio arrives. */
class Track {
  samples = new Int16Array(RATE * 30);
  /** One past the last sample written. */
  end = 0;

  write(at: number, data: Int16Array): void {
    if (at < 0) return;
    this.reserve(at + data.length);
    this.samples.set(data, at);
    this.end = Math.max(this.end, at + data.length);
  }

  /** Silence from `at` on: audio scheduled past a stop never played. */
  silenceFrom(at: number): void {
    if (at < this.end) this.samples.fill(0, Math.max(0, at), this.end);
    this.end = Math.min(this.end, Math.max(0, at));
  }

  private reserve(length: number): void {
    if (length <= this.samples.length) return;
    const grown = new Int16Array(Math.max(length, this.samples.length * 2));
    grown.set(this.samples);
    this.samples = grown;
  }
}

export class CallRecorder {
  /** Offset 0 of the recording (epoch ms). */
  readonly startedAt = Date.now();
  private readonly caller = new Track();
  private readonly agent = new Track();
  /** The caller's stream is continuous: each frame follows the one before (the timer's jitter is no gap). */
  private callerCursor: number | undefined;

  /** A caller frame, as it went into the session now. */
  callerFrame(frame: AudioFrame): void {
    this.callerCursor ??= this.index(Date.now());
    const mono = resample(frame, 1);
    this.caller.write(this.callerCursor, mono);
    this.callerCursor += mono.length;
  }

  /** An agent frame that starts playing at `at` (epoch ms) on a speaker running `speed` times real time. */
  agentFrame(frame: AudioFrame, at: number, speed: number): void {
    // at speed 4 a second of reply plays in 250 ms of the timeline: kept that short, so offsets stay the clock's
    this.agent.write(this.index(at), resample(frame, speed));
  }

  /** The agent was stopped at `at`: what was queued after it never played. */
  agentStopped(at: number): void {
    this.agent.silenceFrom(this.index(at));
  }

  /** Writes the recording as a 16-bit stereo WAV; resolves its length in seconds. */
  async write(path: string): Promise<number> {
    const frames = Math.max(this.caller.end, this.agent.end);
    const body = Buffer.alloc(frames * 4);
    for (let i = 0; i < frames; i++) {
      body.writeInt16LE(i < this.caller.end ? this.caller.samples[i]! : 0, i * 4);
      body.writeInt16LE(i < this.agent.end ? this.agent.samples[i]! : 0, i * 4 + 2);
    }
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, Buffer.concat([wavHeader(body.length, 2), body]));
    return frames / RATE;
  }

  private index(at: number): number {
    return Math.round(((at - this.startedAt) / 1000) * RATE);
  }
}

/** The frame's first channel at the recording's rate, `speed` times shorter (nearest sample: the demo's audio is tones). */
function resample(frame: AudioFrame, speed: number): Int16Array {
  const step = (frame.sampleRate / RATE) * speed;
  const out = new Int16Array(Math.floor(frame.samplesPerChannel / step));
  for (let i = 0; i < out.length; i++) out[i] = frame.data[Math.floor(i * step) * frame.channels]!;
  return out;
}

function wavHeader(dataBytes: number, channels: number): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(RATE, 24);
  header.writeUInt32LE(RATE * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  return header;
}
