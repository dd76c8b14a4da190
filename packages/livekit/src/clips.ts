/**
 * Per-turn clips of a session's recording: which stretch of the recording is each turn's user speech
 * and agent reply (from the report the model wrote), and where the SDK's ffmpeg is.
 */
import type { SessionReportJson } from '@voicetrace/report';
import type { ClipRange } from '@voicetrace/recording';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** Seconds kept before a stretch starts: the VAD places speech start after the first syllable's onset. */
export const CLIP_LEAD_SECONDS = 0.25;
/** Seconds kept after a stretch ends: the last word's tail and the VAD's hangover. */
export const CLIP_TAIL_SECONDS = 0.25;

/**
 * The user's speech (VAD start to end) and the agent's side (first audio to the end of the last reply
 * that played) of each turn, as seconds into the recording, with a margin. Turns without a known
 * stretch get no range.
 */
export function clipRanges(report: SessionReportJson): ClipRange[] {
  const origin = report.voicetrace.recording?.started_at ?? (typeof report.audio_recording_started_at === 'number' ? report.audio_recording_started_at / 1000 : undefined);
  if (origin === undefined) return [];
  const range = (turn: number, side: ClipRange['side'], from: number | undefined, to: number | undefined): ClipRange[] =>
    from !== undefined && to !== undefined && to > from ? [{ turn, side, start: Math.max(0, from - origin - CLIP_LEAD_SECONDS), end: to - origin + CLIP_TAIL_SECONDS }] : [];
  const out: ClipRange[] = [];
  for (const turn of report.voicetrace.turns) {
    const user = turn.user;
    out.push(...range(turn.index, 'user', user?.speech_start, user?.speech_end));
    // the agent's side of the turn: from its first audio to the end of its last reply that played
    const played = turn.replies.filter((r) => r.first_audio_at !== undefined);
    out.push(...range(turn.index, 'agent', played[0]?.first_audio_at, played.at(-1)?.ended_at));
  }
  return out;
}

/**
 * The ffmpeg the SDK records with: `LIVEKIT_FFMPEG_PATH`, else its bundled `@livekit/av` binary (reached
 * through `@livekit/agents`, from the working directory or the main script), else undefined (`ffmpeg` on PATH).
 */
export function sdkFfmpegPath(): string | undefined {
  if (process.env.LIVEKIT_FFMPEG_PATH) return process.env.LIVEKIT_FFMPEG_PATH;
  const roots = [join(process.cwd(), 'index.js'), ...(process.argv[1] ? [process.argv[1]] : [])];
  for (const root of roots) {
    try {
      const agents = createRequire(root).resolve('@livekit/agents');
      const av = createRequire(agents)('@livekit/av') as { getFfmpegPath?: () => string | undefined };
      const path = av.getFfmpegPath?.();
      if (path) return path;
    } catch {
      // not resolvable from here: try the next root
    }
  }
  return undefined;
}
