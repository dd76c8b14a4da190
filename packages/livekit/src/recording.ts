import type { voice } from '@livekit/agents';
import type { RecordingInfo } from '@voicetrace/core';

/**
 * The recording the SDK is making of `session` (`session.start({ record: true })`
 * in a job): where its OGG goes and when it started (epoch seconds). The SDK
 * exposes these only on its recorder (`session._recorderIO`, read here and
 * nowhere else) and, at the end, in its session report.
 */
export function recordingOf(session: voice.AgentSession): RecordingInfo | undefined {
  const recorder = (session as unknown as { _recorderIO?: { outputPath?: string; recordingStartedAt?: number } })._recorderIO;
  if (!recorder) return undefined;
  const startedAtMs = recorder.recordingStartedAt;
  return {
    path: recorder.outputPath,
    startedAt: typeof startedAtMs === 'number' && Number.isFinite(startedAtMs) ? startedAtMs / 1000 : undefined,
  };
}
