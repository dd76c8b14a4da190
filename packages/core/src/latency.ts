import { WAIT_CONTRIBUTIONS, type WaitKey, type WaitOwner } from '@voicetrace/conventions';

/** What happened between the end of the user's speech and the agent's first audio (epoch seconds). */
export interface TurnTimeline {
  /** When the user stopped speaking. */
  userSpeechEnd?: number;
  transcriptionDelay?: number;
  eouDelay?: number;
  onUserTurnCompletedDelay?: number;
  /** LLM requests of the reply, any order; `speakable` when it streamed text (not only tool calls). */
  llmRequests: Array<{ start: number; end: number; ttft?: number; speakable: boolean }>;
  /** Tool executions of the reply. */
  tools: Array<{ start: number; end: number }>;
  /** TTS requests of the reply: when text was first sent, and time to first byte. */
  ttsRequests: Array<{ start: number; ttfb?: number }>;
  /** The SDK's end-to-end latency: user speech end to agent playout start. */
  e2e?: number;
}

/** One consecutive slice of the user-perceived wait. */
export interface WaitContribution {
  key: WaitKey;
  /** Who can act on it (WAIT_CONTRIBUTIONS in @voicetrace/conventions): `provider:stt|llm|tts`, `setting:endpointing`, `agent_code`, `pipeline`, `pipeline:unmeasured`. */
  owner: WaitOwner;
  seconds: number;
}

/** The latency of one agent turn: the LiveKit docs' breakdown and the gapless wait. */
export interface LatencyBreakdown {
  eouDelay?: number;
  transcriptionDelay?: number;
  onUserTurnCompletedDelay?: number;
  llmTtft?: number;
  ttsTtfb?: number;
  /** The docs' `total_latency`: eouDelay + llmTtft + ttsTtfb (when all three are known). */
  total?: number;
  e2e?: number;
  /** How much later than the VAD the SDK placed the end of speech; e2e and the delays are restated from the VAD's (absent when they agree). */
  anchorShift?: number;
  /** Consecutive contributions summing to `e2e`; empty when the turn had no user speech end or no e2e. */
  wait: WaitContribution[];
}

/** Below this a slice is float noise (a microsecond, far below any clock the SDK reads). */
const RESIDUE_NOISE_S = 1e-6;

/**
 * Computes the docs' latency figures and a gapless breakdown of the wait the
 * user heard (end of speech -> first agent audio) into owned contributions.
 * Each mark is clamped into [previous mark, end], so contributions never
 * overlap and always sum to e2e; time between known marks is `unattributed`.
 */
export function computeLatency(timeline: TurnTimeline): LatencyBreakdown {
  const requests = [...timeline.llmRequests].sort((a, b) => a.start - b.start);
  const speakableIndex = requests.findIndex((r) => r.speakable);
  const speakable = speakableIndex >= 0 ? requests[speakableIndex] : undefined;
  const firstTts = [...timeline.ttsRequests].sort((a, b) => a.start - b.start).find((t) => !speakable || t.start >= speakable.start - 1e-3);
  const llmTtft = speakable?.ttft;
  const ttsTtfb = firstTts?.ttfb;
  // every field in the literal, set or not: one added later goes to a separate property array
  const result: LatencyBreakdown = {
    eouDelay: timeline.eouDelay,
    transcriptionDelay: timeline.transcriptionDelay,
    onUserTurnCompletedDelay: timeline.onUserTurnCompletedDelay,
    llmTtft,
    ttsTtfb,
    total: timeline.eouDelay !== undefined && llmTtft !== undefined && ttsTtfb !== undefined ? timeline.eouDelay + llmTtft + ttsTtfb : undefined,
    e2e: timeline.e2e,
    anchorShift: undefined,
    wait: [],
  };
  if (timeline.userSpeechEnd === undefined || timeline.e2e === undefined) return result;

  const start = timeline.userSpeechEnd;
  const end = start + timeline.e2e;
  const totals = new Map<WaitKey, number>();
  let cursor = start;
  const advance = (key: WaitKey, mark: number | undefined): void => {
    if (mark === undefined || !Number.isFinite(mark)) return;
    const clamped = Math.min(Math.max(mark, cursor), end);
    totals.set(key, (totals.get(key) ?? 0) + (clamped - cursor));
    cursor = clamped;
  };

  if (timeline.transcriptionDelay !== undefined) advance('stt_final_transcript', start + timeline.transcriptionDelay);
  if (timeline.eouDelay !== undefined) advance('endpointing_delay', start + timeline.eouDelay);
  if (timeline.onUserTurnCompletedDelay !== undefined) advance('on_user_turn_completed', cursor + timeline.onUserTurnCompletedDelay);
  const toolSteps = speakableIndex >= 0 ? requests.slice(0, speakableIndex) : requests;
  for (const request of toolSteps) {
    advance('unattributed', request.start);
    advance('llm_tool_step', request.end);
    for (const tool of timeline.tools.filter((t) => t.start >= request.start).sort((a, b) => a.start - b.start)) {
      if (speakable && tool.start > speakable.start) break;
      advance('unattributed', tool.start);
      advance('tool_execution', tool.end);
    }
  }
  if (speakable) {
    advance('unattributed', speakable.start);
    if (speakable.ttft !== undefined) advance('llm_ttft', speakable.start + speakable.ttft);
  }
  if (firstTts) {
    advance('tts_text_aggregation', firstTts.start);
    if (firstTts.ttfb !== undefined) advance('tts_ttfb', firstTts.start + firstTts.ttfb);
  }
  advance('playout_start', end);

  // the last slice takes the float residue so the identity sum == e2e holds exactly
  const ordered = WAIT_CONTRIBUTIONS.filter((c) => totals.has(c.key)).map((c): WaitContribution => ({
    key: c.key,
    owner: c.owner,
    seconds: totals.get(c.key) ?? 0,
  }));
  const sumButLast = ordered.slice(0, -1).reduce((sum, c) => sum + c.seconds, 0);
  const last = ordered[ordered.length - 1];
  if (last) {
    last.seconds = timeline.e2e - sumButLast;
    // a negative residue within float noise (epoch seconds carry ~2e-7 s of it) is 0: the largest
    // slice absorbs it, so no slice is negative (the report's schema forbids it) and the sum stays e2e
    if (last.seconds < 0 && last.seconds > -RESIDUE_NOISE_S && ordered.length > 1) {
      const largest = ordered.slice(0, -1).reduce((a, b) => (b.seconds > a.seconds ? b : a));
      largest.seconds += last.seconds;
      last.seconds = 0;
    }
  }
  result.wait = ordered;
  return result;
}
