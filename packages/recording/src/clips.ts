/**
 * Cuts each turn's two sides (the caller's speech, the agent's reply) out of a call recording as small
 * WAV files, after the call.
 *
 * Why ffmpeg: the SDK's recording (`session.start({ record: true })`) is stereo Ogg Opus that the SDK
 * itself encodes with ffmpeg (its bundled `@livekit/av` binary, or `LIVEKIT_FFMPEG_PATH`): an agent
 * that records already has that binary, so decoding with it adds no dependency. The SDK's RecorderIO
 * puts the user's input on the left channel and the agent's output on the right, both on one timeline
 * whose zero is `audio_recording_started_at` (@livekit/agents 1.9.0 dist/voice/recorder_io/recorder_io.js:
 * 168 `t0`, 227 `channel: 0` for input, 235 `channel: 1` for output, 283 the ffmpeg libopus encoder).
 *
 * One ffmpeg process decodes the recording once, as a stream (16 kHz s16le stereo on its stdout); each
 * clip holds only its own samples, allocated when the stream reaches it and written when the stream
 * passes its end: memory is bounded by the clips that overlap in time, never by the call's length. The
 * whole job is bounded by `timeoutMs` (ffmpeg is killed) and never throws: a clip that could not be
 * cut says why, with a named reason.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type ClipSide = 'user' | 'agent';

/** One side of one turn: seconds into the recording. */
export interface ClipRange {
  turn: number;
  side: ClipSide;
  start: number;
  end: number;
}

/** Why a clip was not cut. */
export type ClipSkipReason =
  /** No ffmpeg binary at the path (or on PATH). */
  | 'no_ffmpeg'
  /** ffmpeg could not decode the recording (not audio, or corrupt from the start). */
  | 'decode_failed'
  /** The recording ends before the clip starts (a truncated or short recording). */
  | 'recording_ended'
  /** The time bound ran out before the decoder reached the clip's end. */
  | 'budget_exceeded'
  /** The caller's signal aborted the job. */
  | 'aborted'
  /** The range is empty or not finite. */
  | 'empty_range'
  /** The WAV file could not be written. */
  | 'write_failed';

export const CLIP_SKIP_REASONS: readonly ClipSkipReason[] = ['no_ffmpeg', 'decode_failed', 'recording_ended', 'budget_exceeded', 'aborted', 'empty_range', 'write_failed'];

export interface ClipOutcome extends ClipRange {
  status: 'cut' | 'skipped';
  /** The WAV file (cut clips). */
  path?: string;
  /** Seconds of audio in the file: shorter than the range when `truncated`. */
  duration?: number;
  bytes?: number;
  /** The recording ended inside the range, or the range was longer than `maxClipSeconds`. */
  truncated?: boolean;
  reason?: ClipSkipReason;
  error?: string;
}

export interface CutClipsOptions {
  recordingPath: string;
  ranges: readonly ClipRange[];
  /** Where the WAV files go (`turn-003-user.wav`, `turn-003-agent.wav`); created when missing. */
  outDir: string;
  /** The ffmpeg binary: default `LIVEKIT_FFMPEG_PATH` (as the SDK), else `ffmpeg` on PATH. */
  ffmpegPath?: string | undefined;
  /** The clips' sample rate (default 16 000: speech, a third of the recording's 48 kHz in size). */
  sampleRate?: number | undefined;
  /** A clip longer than this is cut to its first seconds, marked truncated (default 120). */
  maxClipSeconds?: number | undefined;
  /** The whole job's bound (default 15 000 ms): past it ffmpeg is killed and the clips not done are skipped. */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface CutClipsResult {
  clips: ClipOutcome[];
  cut: number;
  skipped: Partial<Record<ClipSkipReason, number>>;
  /** Seconds of recording the decoder delivered. */
  decodedSeconds: number;
  durationMs: number;
  /** The most clip audio held in memory at once (bytes). */
  peakBufferedBytes: number;
}

const CHANNELS = 2;
const BYTES_PER_FRAME = CHANNELS * 2;

/** The clip file's name for a turn and side. */
export function clipFileName(turn: number, side: ClipSide): string {
  return `turn-${String(turn).padStart(3, '0')}-${side}.wav`;
}

/** Cuts the clips; resolves when every clip is written or skipped, within `timeoutMs`. Never throws. */
export async function cutRecordingClips(options: CutClipsOptions): Promise<CutClipsResult> {
  const started = performance.now();
  const rate = options.sampleRate ?? 16_000;
  const maxFrames = Math.round((options.maxClipSeconds ?? 120) * rate);
  const pending: Pending[] = [];
  const outcomes: ClipOutcome[] = [];
  for (const range of options.ranges) {
    const startFrame = Math.max(0, Math.round(range.start * rate));
    const endFrame = Math.round(range.end * rate);
    if (!Number.isFinite(range.start) || !Number.isFinite(range.end) || endFrame <= startFrame) outcomes.push({ ...range, status: 'skipped', reason: 'empty_range' });
    else pending.push({ range, startFrame, endFrame: Math.min(endFrame, startFrame + maxFrames), capped: endFrame > startFrame + maxFrames });
  }
  pending.sort((a, b) => a.startFrame - b.startFrame);
  const finish = (decodedFrames: number, peak: number): CutClipsResult => {
    const order = new Map(options.ranges.map((r, i) => [r, i]));
    outcomes.sort((a, b) => (order.get(rangeOf(a, options.ranges)) ?? 0) - (order.get(rangeOf(b, options.ranges)) ?? 0));
    const skipped: CutClipsResult['skipped'] = {};
    for (const o of outcomes) if (o.reason) skipped[o.reason] = (skipped[o.reason] ?? 0) + 1;
    return { clips: outcomes, cut: outcomes.filter((o) => o.status === 'cut').length, skipped, decodedSeconds: decodedFrames / rate, durationMs: performance.now() - started, peakBufferedBytes: peak };
  };
  if (pending.length === 0) return finish(0, 0);
  try {
    await mkdir(options.outDir, { recursive: true });
  } catch (err) {
    for (const p of pending) outcomes.push({ ...p.range, status: 'skipped', reason: 'write_failed', error: messageOf(err) });
    return finish(0, 0);
  }
  const decoded = await decodeInto(options, rate, pending, outcomes);
  return finish(decoded.frames, decoded.peak);
}

interface Pending {
  range: ClipRange;
  startFrame: number;
  endFrame: number;
  capped: boolean;
  samples?: Int16Array;
}

/** Runs the decoder, routes its samples to the clips, writes each clip as the stream passes its end. */
function decodeInto(options: CutClipsOptions, rate: number, pending: Pending[], outcomes: ClipOutcome[]): Promise<{ frames: number; peak: number }> {
  const ffmpeg = options.ffmpegPath ?? process.env.LIVEKIT_FFMPEG_PATH ?? 'ffmpeg';
  const args = ['-nostdin', '-v', 'error', '-i', options.recordingPath, '-vn', '-f', 's16le', '-acodec', 'pcm_s16le', '-ac', String(CHANNELS), '-ar', String(rate), 'pipe:1'];
  const writes: Promise<void>[] = [];
  let frames = 0;
  let buffered = 0;
  let peak = 0;
  let carry: Buffer | undefined;
  let next = 0; // the first pending clip not yet active
  const active: Pending[] = [];
  let stopReason: ClipSkipReason | undefined;
  let stderr = '';

  const complete = (p: Pending, endFrame: number, truncated: boolean): void => {
    const samples = p.samples!.subarray(0, endFrame - p.startFrame);
    const path = join(options.outDir, clipFileName(p.range.turn, p.range.side));
    const wav = wavFile(samples, rate);
    buffered -= p.samples!.byteLength;
    p.samples = undefined;
    writes.push(
      writeFile(path, wav).then(
        () => void outcomes.push({ ...p.range, status: 'cut', path, duration: samples.length / rate, bytes: wav.byteLength, ...(truncated ? { truncated } : {}) }),
        (err: unknown) => void outcomes.push({ ...p.range, status: 'skipped', reason: 'write_failed', error: messageOf(err) }),
      ),
    );
  };

  const onData = (chunk: Buffer): void => {
    const data = carry ? Buffer.concat([carry, chunk]) : chunk;
    const whole = data.length - (data.length % BYTES_PER_FRAME);
    carry = whole < data.length ? Buffer.from(data.subarray(whole)) : undefined;
    const count = whole / BYTES_PER_FRAME;
    const from = frames;
    const to = frames + count;
    // clips the stream reaches in this chunk become active: their samples are allocated now
    while (next < pending.length && pending[next]!.startFrame < to) {
      const p = pending[next++]!;
      p.samples = new Int16Array(p.endFrame - p.startFrame);
      buffered += p.samples.byteLength;
      peak = Math.max(peak, buffered);
      active.push(p);
    }
    const view = new DataView(data.buffer, data.byteOffset, whole);
    for (let i = active.length - 1; i >= 0; i--) {
      const p = active[i]!;
      const channel = p.range.side === 'user' ? 0 : 1;
      const lo = Math.max(from, p.startFrame);
      const hi = Math.min(to, p.endFrame);
      for (let f = lo; f < hi; f++) p.samples![f - p.startFrame] = view.getInt16((f - from) * BYTES_PER_FRAME + channel * 2, true);
      if (p.endFrame <= to) {
        active.splice(i, 1);
        complete(p, p.endFrame, p.capped);
      }
    }
    frames = to;
  };

  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      for (const p of pending) outcomes.push({ ...p.range, status: 'skipped', reason: 'no_ffmpeg', error: messageOf(err) });
      return resolve({ frames: 0, peak: 0 });
    }
    const stop = (reason: ClipSkipReason): void => {
      if (stopReason) return;
      stopReason = reason;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => stop('budget_exceeded'), options.timeoutMs ?? 15_000);
    timer.unref();
    const onAbort = (): void => stop('aborted');
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout!.on('data', (chunk: Buffer) => {
      if (!stopReason) onData(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      if (stderr.length < 2_000) stderr += chunk.toString();
    });
    let spawnError: (Error & { code?: string }) | undefined;
    child.on('error', (err: Error & { code?: string }) => (spawnError = err));
    child.on('close', (code) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      const failure = spawnError ? (spawnError.code === 'ENOENT' ? 'no_ffmpeg' : 'decode_failed') : stopReason ?? (code !== 0 && frames === 0 ? 'decode_failed' : undefined);
      const error = spawnError ? `${ffmpeg}: ${spawnError.message}` : stderr.trim().split('\n').slice(-1)[0];
      // the stream ended: clips it reached are cut to where it ended (unless it was stopped), the rest are skipped
      for (const p of [...active, ...pending.slice(next)]) {
        if (p.samples && !failure && frames > p.startFrame) complete(p, frames, true);
        else {
          if (p.samples) buffered -= p.samples.byteLength;
          p.samples = undefined;
          outcomes.push({ ...p.range, status: 'skipped', reason: failure ?? 'recording_ended', ...(failure && error ? { error } : {}) });
        }
      }
      void Promise.all(writes).then(() => resolve({ frames, peak }));
    });
  });
}

/** A 16-bit mono PCM WAV file. */
function wavFile(samples: Int16Array, rate: number): Buffer {
  const data = samples.byteLength;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16); // PCM format chunk
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28); // bytes per second
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data, 40);
  const body = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  return Buffer.concat([header, body]);
}

function rangeOf(outcome: ClipOutcome, ranges: readonly ClipRange[]): ClipRange {
  return ranges.find((r) => r.turn === outcome.turn && r.side === outcome.side && r.start === outcome.start && r.end === outcome.end) ?? outcome;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
