// Per-turn clips cut out of a recording made the way the SDK makes one (stereo Ogg Opus at 48 kHz, by
// the SDK's own ffmpeg, the user on the left and the agent on the right): each clip's length is its
// range's, its audio is its side's, and faults (no ffmpeg, not audio, a truncated file, a budget too
// short) skip clips with a named reason instead of throwing.
import { getFfmpegPath } from '@livekit/av';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cutRecordingClips, type ClipRange } from '../src/clips.js';

const FFMPEG = getFfmpegPath();
const RATE = 48_000;
const dir = mkdtempSync(join(tmpdir(), 'vt-clips-'));

/** A tone on one channel of a stereo timeline: [start, end) seconds. */
interface Tone {
  channel: 0 | 1;
  start: number;
  end: number;
  hz: number;
}

/** Encodes `seconds` of s16le stereo with the tones as the SDK's RecorderIO does (recorder_io.js:283). */
function recording(name: string, seconds: number, tones: Tone[]): string {
  const pcm = new Int16Array(Math.round(seconds * RATE) * 2);
  for (const t of tones) {
    for (let i = Math.round(t.start * RATE); i < Math.round(t.end * RATE); i++) pcm[i * 2 + t.channel] = Math.round(12_000 * Math.sin((2 * Math.PI * t.hz * i) / RATE));
  }
  const out = join(dir, name);
  const r = spawnSync(FFMPEG!, ['-v', 'error', '-y', '-f', 's16le', '-ar', String(RATE), '-ac', '2', '-i', 'pipe:0', '-c:a', 'libopus', '-ac', '2', '-ar', String(RATE), '-f', 'ogg', out], { input: Buffer.from(pcm.buffer) });
  if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr.toString()}`);
  return out;
}

/** A WAV clip's samples (16-bit mono) and rate. */
function readWav(path: string): { rate: number; samples: Int16Array } {
  const b = readFileSync(path);
  expect(b.toString('ascii', 0, 4)).toBe('RIFF');
  expect(b.readUInt16LE(22)).toBe(1); // mono
  const data = b.subarray(44);
  return { rate: b.readUInt32LE(24), samples: new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
}

/** RMS level of samples [from, to) seconds. */
function rms(wav: { rate: number; samples: Int16Array }, from: number, to: number): number {
  const a = Math.round(from * wav.rate);
  const b = Math.min(wav.samples.length, Math.round(to * wav.rate));
  let sum = 0;
  for (let i = a; i < b; i++) sum += wav.samples[i]! ** 2;
  return Math.sqrt(sum / Math.max(1, b - a));
}

/** Seconds into the clip where its level first rises past a tenth of full tone (10 ms windows). */
function onset(wav: { rate: number; samples: Int16Array }): number {
  for (let t = 0; t < wav.samples.length / wav.rate; t += 0.005) if (rms(wav, t, t + 0.01) > 1_000) return t;
  return Number.NaN;
}

// The user speaks 1.0-2.5 s (left, 440 Hz), the agent answers 3.0-4.2 s (right, 1 kHz), the user barges in at 4.0-4.6 s.
const CALL: Tone[] = [
  { channel: 0, start: 1.0, end: 2.5, hz: 440 },
  { channel: 1, start: 3.0, end: 4.2, hz: 1000 },
  { channel: 0, start: 4.0, end: 4.6, hz: 440 },
];
const RANGES: ClipRange[] = [
  { turn: 1, side: 'user', start: 0.8, end: 2.7 },
  { turn: 1, side: 'agent', start: 2.9, end: 4.3 },
  { turn: 2, side: 'user', start: 3.9, end: 4.8 },
];

describe.skipIf(!FFMPEG)('cutRecordingClips', () => {
  const call = FFMPEG ? recording('call.ogg', 6, CALL) : '';

  it('cuts each range to its length, from its side only, the speech where the timeline says', async () => {
    const out = join(dir, 'clips');
    const result = await cutRecordingClips({ recordingPath: call, ranges: RANGES, outDir: out, ffmpegPath: FFMPEG });
    expect(result.clips.map((c) => [c.turn, c.side, c.status])).toEqual([[1, 'user', 'cut'], [1, 'agent', 'cut'], [2, 'user', 'cut']]);
    expect(result.cut).toBe(3);
    expect(result.skipped).toEqual({});
    expect(result.decodedSeconds).toBeCloseTo(6, 2);
    for (const clip of result.clips) {
      const wav = readWav(clip.path!);
      expect(wav.rate).toBe(16_000);
      // exactly the range (to a sample), as the file and as the outcome says
      expect(wav.samples.length / wav.rate).toBeCloseTo(clip.end - clip.start, 3);
      expect(clip.duration).toBeCloseTo(clip.end - clip.start, 3);
      expect(clip.bytes).toBe(statSync(clip.path!).size);
    }
    const [user1, agent1, user2] = result.clips.map((c) => readWav(c.path!));
    // the user's tone starts 0.2 s into its clip (1.0 - 0.8), within 10 ms; the agent's 0.1 s into its own
    expect(Math.abs(onset(user1!) - 0.2)).toBeLessThan(0.01);
    expect(Math.abs(onset(agent1!) - 0.1)).toBeLessThan(0.01);
    expect(Math.abs(onset(user2!) - 0.1)).toBeLessThan(0.01);
    // the other side is not in a clip: the agent's 1 kHz tone (3.0-4.2 s) plays under turn 2's user clip
    // (3.9-4.8 s) only on the right channel, and the user's barge-in (4.0 s) not in the agent clip's left
    expect(rms(user2!, 0, 0.09)).toBeLessThan(50); // 3.9-3.99 s: the agent talks, the user does not
    expect(rms(user2!, 0.15, 0.65)).toBeGreaterThan(5_000);
    expect(rms(agent1!, 0.15, 1.25)).toBeGreaterThan(5_000);
    expect(rms(user1!, 1.8, 1.9)).toBeLessThan(50); // after the user stopped
  });

  it('a range past the end of a short recording: cut to where it ends (truncated), the one after it skipped as recording_ended', async () => {
    const result = await cutRecordingClips({
      recordingPath: call,
      ranges: [
        { turn: 3, side: 'agent', start: 5.5, end: 7 },
        { turn: 4, side: 'user', start: 6.5, end: 8 },
      ],
      outDir: join(dir, 'past-end'),
      ffmpegPath: FFMPEG,
    });
    expect(result.clips[0]).toMatchObject({ status: 'cut', truncated: true });
    expect(result.clips[0]!.duration).toBeCloseTo(0.5, 2);
    expect(result.clips[1]).toMatchObject({ status: 'skipped', reason: 'recording_ended' });
    expect(result.skipped).toEqual({ recording_ended: 1 });
  });

  it('a truncated file (the job died mid-write): the clips before the cut are whole, the rest named', async () => {
    // the agent talks from 4 s to the end: the file's bytes grow with time (Opus makes silence tiny)
    const long = recording('long.ogg', 20, [{ channel: 0, start: 1, end: 3, hz: 440 }, { channel: 1, start: 4, end: 20, hz: 1000 }]);
    const bytes = readFileSync(long);
    const truncated = join(dir, 'truncated.ogg');
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const result = await cutRecordingClips({
      recordingPath: truncated,
      ranges: [
        { turn: 1, side: 'user', start: 0.5, end: 3.5 },
        { turn: 2, side: 'agent', start: 15.5, end: 18.5 },
      ],
      outDir: join(dir, 'truncated'),
      ffmpegPath: FFMPEG,
    });
    expect(result.clips[0]).toMatchObject({ status: 'cut' });
    expect(result.clips[0]!.truncated).toBeUndefined();
    expect(result.clips[1]).toMatchObject({ status: 'skipped', reason: 'recording_ended' });
    expect(result.decodedSeconds).toBeGreaterThan(3.5);
    expect(result.decodedSeconds).toBeLessThan(15.5);
    // memory: the 3 s clip's samples, not the 10 s the decoder streamed through
    expect(result.peakBufferedBytes).toBe(3 * 16_000 * 2);
  });

  it('a budget too short for the recording: ffmpeg is killed at the bound, the clips not done are budget_exceeded', async () => {
    const hour = recording('ten-minutes.ogg', 600, [{ channel: 0, start: 590, end: 595, hz: 440 }]);
    const started = performance.now();
    const result = await cutRecordingClips({ recordingPath: hour, ranges: [{ turn: 90, side: 'user', start: 589, end: 596 }], outDir: join(dir, 'budget'), ffmpegPath: FFMPEG, timeoutMs: 50 });
    const elapsed = performance.now() - started;
    expect(result.clips[0]).toMatchObject({ status: 'skipped', reason: 'budget_exceeded' });
    expect(result.skipped).toEqual({ budget_exceeded: 1 });
    expect(result.decodedSeconds).toBeLessThan(589);
    expect(elapsed).toBeLessThan(5_000); // the bound held (a generous margin for a loaded machine: killed, not waited for)
  });

  it('no ffmpeg, or not audio: every clip skipped with its reason, nothing thrown; an empty range is named too', async () => {
    const ranges: ClipRange[] = [{ turn: 1, side: 'user', start: 1, end: 2 }, { turn: 1, side: 'agent', start: 3, end: 3 }];
    const missing = await cutRecordingClips({ recordingPath: call, ranges, outDir: join(dir, 'none'), ffmpegPath: join(dir, 'no-such-ffmpeg') });
    expect(missing.clips.map((c) => c.reason)).toEqual(['no_ffmpeg', 'empty_range']);
    const junk = join(dir, 'junk.ogg');
    writeFileSync(junk, 'this is not a recording');
    const bad = await cutRecordingClips({ recordingPath: junk, ranges, outDir: join(dir, 'junk'), ffmpegPath: FFMPEG });
    expect(bad.clips.map((c) => c.reason)).toEqual(['decode_failed', 'empty_range']);
    expect(bad.clips[0]!.error).toBeTruthy();
    expect(bad.skipped).toEqual({ decode_failed: 1, empty_range: 1 });
  });

  it('a clip longer than maxClipSeconds keeps its first seconds, marked truncated', async () => {
    const result = await cutRecordingClips({ recordingPath: call, ranges: [{ turn: 1, side: 'user', start: 0.5, end: 5.5 }], outDir: join(dir, 'cap'), ffmpegPath: FFMPEG, maxClipSeconds: 2 });
    expect(result.clips[0]).toMatchObject({ status: 'cut', truncated: true });
    expect(result.clips[0]!.duration).toBeCloseTo(2, 3);
  });
});
