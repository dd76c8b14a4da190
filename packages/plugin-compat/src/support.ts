import * as silero from '@livekit/agents-plugin-silero';
import { backendOrSkip } from '@voicetrace/test-backends';
import type { VAD } from '@livekit/agents';

/** espeak-ng and sox for the caller's speech: their path, or undefined (skipped loudly; a failure under CI=true). */
export function speechOrSkip(): Promise<string | undefined> {
  return backendOrSkip('speech');
}

let vad: Promise<VAD> | undefined;

/** Silero VAD, loaded once per process (its ONNX model ships in the plugin and runs for real). */
export function sileroVad(): Promise<VAD> {
  vad ??= silero.VAD.load();
  return vad;
}

/** Seconds of a span's start and end (epoch seconds). */
export function spanTimes(span: { startTime: [number, number]; endTime: [number, number] }): { start: number; end: number } {
  return { start: span.startTime[0] + span.startTime[1] / 1e9, end: span.endTime[0] + span.endTime[1] / 1e9 };
}
