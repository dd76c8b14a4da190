import type { ReportClip, ReportClipsSummary, ReportReply, ReportTurn, SessionReportJson } from './types.js';

/** One clip as the clipper made it: whose turn, which side, and the file, upload or reason. */
export interface TurnClipInput {
  /** The turn's `ReportTurn.index`. */
  turn: number;
  side: 'user' | 'agent';
  offset: number;
  path?: string;
  url?: string;
  duration?: number;
  skipped?: string;
  /** What LangFuse's media API did with it (`uploaded`, `failed`, `too_large`, `invalid`). */
  langfuse?: string;
}

/**
 * Returns a copy of `report` with each turn's clips attached and `voicetrace.recording.clips`
 * summarised. Never mutates its input.
 *
 * The rule: a clip goes to the turn whose `index` is its `turn`; the user side to that turn's
 * `user.clip`, the agent side to the reply the user heard: the turn's last reply with a
 * `recording_offset` (a reply cut off before its audio has none), else its last reply. A clip with
 * nowhere to go (a turn left out of `turns` on a long call, a turn without a user or without
 * replies, a non-finite offset) is not attached, yet counted in the summary, as the clipping work it
 * was. For the same turn and side the last clip given wins. The summary counts as `cut` the clips
 * with a file or an upload, and per reason those with `skipped`; `duration_ms` is `summary`'s (0
 * when not given).
 */
export function attachClips(report: SessionReportJson, clips: readonly TurnClipInput[], summary?: { duration_ms: number }): SessionReportJson {
  const copy = structuredClone(report);
  const v = copy.voicetrace;
  const byKey = new Map<string, TurnClipInput>();
  for (const c of clips) byKey.set(`${c.turn}:${c.side}`, c);
  const turns = new Map<number, ReportTurn>((Array.isArray(v.turns) ? v.turns : []).map((t) => [t.index, t]));
  let cut = 0;
  const skipped = new Map<string, number>(); // a Map: a reason is free text (even `__proto__`)
  for (const input of byKey.values()) {
    if (input.path || input.url) cut++;
    if (input.skipped) skipped.set(input.skipped, (skipped.get(input.skipped) ?? 0) + 1);
    const clip = toClip(input);
    const turn = turns.get(input.turn);
    if (!clip || !turn) continue;
    if (input.side === 'user') {
      if (turn.user) turn.user.clip = clip;
    } else {
      const reply = replyHeard(turn.replies);
      if (reply) reply.clip = clip;
    }
  }
  const counts: ReportClipsSummary = { cut, skipped: Object.fromEntries(skipped), duration_ms: Math.max(0, finite(summary?.duration_ms) ?? 0) };
  v.recording = { ...(v.recording ?? { uploads: [] }), clips: counts };
  return copy;
}

/** The reply whose audio the agent clip holds: the last one that played, else the last one. */
function replyHeard(replies: ReportReply[] | undefined): ReportReply | undefined {
  if (!Array.isArray(replies)) return undefined;
  return replies.findLast((r) => finite(r.recording_offset) !== undefined) ?? replies.at(-1);
}

/** The clip as the schema takes it: no undefined, empty or non-finite fields (ajv rejects them). */
function toClip(c: TurnClipInput): ReportClip | undefined {
  const offset = finite(c.offset);
  if (offset === undefined) return undefined;
  const clip: ReportClip = { offset: Math.max(0, offset) }; // a hair below 0 is rounding
  if (c.path) clip.path = c.path;
  if (c.url) clip.url = c.url;
  const duration = finite(c.duration);
  if (duration !== undefined) clip.duration = Math.max(0, duration);
  if (c.skipped) clip.skipped = c.skipped;
  if (c.langfuse) clip.langfuse = c.langfuse;
  return clip;
}

function finite(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
