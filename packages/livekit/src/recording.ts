import type { voice } from '@livekit/agents';
import type { RecordingInfo } from '@voicetrace/core';
import { clipFileName, clipKey, type ArtifactUploader } from '@voicetrace/recording';

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

/**
 * The recording with where each turn's clip will be uploaded: the key is fixed before the clip exists
 * (`<session>/clips/turn-NNN-<side>.wav`), so a turn span carries its clip's URL when it is exported.
 * Only with an uploader that can name its URLs (the S3 uploader).
 */
export function withClipUrls(recording: RecordingInfo | undefined, sessionId: string, uploader: ArtifactUploader | undefined): RecordingInfo | undefined {
  const urls = uploader as (ArtifactUploader & { objectUrl?: (key: string) => string }) | undefined;
  if (!recording || typeof urls?.objectUrl !== 'function') return recording;
  return { ...recording, clipUrl: (turn, side) => urls.objectUrl!(clipKey(sessionId, clipFileName(turn, side))) };
}

/** The recording the user's callback names (InstrumentOptions.recording), never an exception into the agent. */
export function ownRecording(recording: (() => RecordingInfo | undefined) | undefined): RecordingInfo | undefined {
  try {
    const info = recording?.();
    return info?.path ? { path: info.path, startedAt: info.startedAt } : undefined;
  } catch {
    return undefined;
  }
}
