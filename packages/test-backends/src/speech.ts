import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { requireBinary } from './binaries.js';
import type { SpeechTools } from './types.js';

/**
 * The `speech` backend's binaries (installing Debian's espeak-ng and sox if needed). Throws when
 * unavailable: call `backendOrSkip('speech')` first. `VOICETRACE_SOX` may point at sox.
 */
export async function speechTools(): Promise<SpeechTools> {
  const espeakNg = await requireBinary('speech');
  const candidates = [process.env.VOICETRACE_SOX, join(dirname(espeakNg), 'sox'), '/usr/bin/sox', '/usr/local/bin/sox'];
  const sox = candidates.find((p): p is string => !!p && existsSync(p));
  if (!sox) throw new Error('test-backends: sox not found next to espeak-ng; set VOICETRACE_SOX');
  return { espeakNg, sox };
}

export interface SynthesizeOptions {
  /** Output sample rate in Hz (default 48 000, LiveKit's). espeak-ng speaks at 22 050 Hz; sox resamples. */
  sampleRate?: number;
  /** espeak-ng voice (default `en-us`). */
  voice?: string;
  /** Words per minute (espeak-ng `-s`, default 175). */
  wordsPerMinute?: number;
}

/** Mono 16-bit PCM of `text` spoken by espeak-ng (deterministic for a given text and options). */
export interface SynthesizedSpeech {
  readonly samples: Int16Array;
  readonly sampleRate: number;
  readonly durationMs: number;
}

function run(cmd: string, args: string[], input?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr.toString()}`));
      else resolve(stdout);
    });
    if (input) child.stdin?.end(input);
  });
}

/** Speaks `text` with espeak-ng and returns mono 16-bit PCM at `sampleRate` (resampled by sox, without dither: the same text gives the same samples). */
export async function synthesizeSpeech(text: string, opts: SynthesizeOptions = {}): Promise<SynthesizedSpeech> {
  const { espeakNg, sox } = await speechTools();
  const sampleRate = opts.sampleRate ?? 48_000;
  const wav = await run(espeakNg, ['-v', opts.voice ?? 'en-us', '-s', String(opts.wordsPerMinute ?? 175), '--stdout', text]);
  const raw = await run(sox, ['-D', '-t', 'wav', '-', '-t', 'raw', '-r', String(sampleRate), '-e', 'signed-integer', '-b', '16', '-c', '1', '-L', '-'], wav);
  const samples = new Int16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + (raw.byteLength & ~1)));
  return { samples, sampleRate, durationMs: (samples.length / sampleRate) * 1000 };
}
