import type { WaitKey } from '@voicetrace/conventions';
import type { ReplyRecord, SessionSnapshot } from '@voicetrace/core';

const ms = (seconds: number | undefined): string => (seconds === undefined ? '-' : `${Math.round(seconds * 1000)}`);
const pad = (text: string, width: number): string => text.padStart(width);

/** The per-turn latency table (the docs' stages, their sum, the SDK's e2e) in milliseconds. */
/** The replies that played (they carry a latency breakdown), oldest first. */
export function playedReplies(summary: SessionSnapshot): Array<ReplyRecord & { latency: NonNullable<ReplyRecord['latency']> }> {
  return summary.turns.flatMap((turn) => turn.replies).filter((reply): reply is ReplyRecord & { latency: NonNullable<ReplyRecord['latency']> } => reply.latency !== undefined);
}

export function latencyTable(summary: SessionSnapshot): string {
  const header = ['turn', 'agent', 'interrupted', 'stt', 'eou', 'ttft', 'ttfb', 'total', 'e2e'];
  const widths = [4, 11, 11, 6, 6, 6, 6, 6, 6];
  const rows = playedReplies(summary).map((turn) => [
    String(turn.turnIndex),
    turn.agent ?? '-',
    turn.interrupted ? 'yes' : 'no',
    ms(turn.latency.transcriptionDelay),
    ms(turn.latency.eouDelay),
    ms(turn.latency.llmTtft),
    ms(turn.latency.ttsTtfb),
    ms(turn.latency.total),
    ms(turn.latency.e2e),
  ]);
  return [header, ...rows].map((row) => row.map((cell, i) => pad(cell, widths[i]!)).join(' ')).join('\n');
}

/**
 * The per-turn latency of a realtime (speech-to-speech) call: what can be measured there. The model
 * hears and speaks, so there is no transcription delay, LLM TTFT or TTS TTFB to show.
 */
export function realtimeLatencyTable(summary: SessionSnapshot): string {
  const header = ['turn', 'agent', 'interrupted', 'endpoint', 'tools', 'model', 'playout', 'e2e'];
  const widths = [4, 11, 11, 8, 6, 6, 7, 6];
  const slice = (turn: ReplyRecord & { latency: NonNullable<ReplyRecord['latency']> }, ...keys: WaitKey[]): number | undefined => {
    const found = turn.latency.wait.filter((w) => keys.includes(w.key));
    return found.length ? found.reduce((sum, w) => sum + w.seconds, 0) : undefined;
  };
  const rows = playedReplies(summary).map((turn) => [
    String(turn.turnIndex),
    turn.agent ?? '-',
    turn.interrupted ? 'yes' : 'no',
    ms(slice(turn, 'endpointing_delay')),
    ms(slice(turn, 'llm_tool_step', 'tool_execution')),
    ms(turn.latency.llmTtft),
    ms(slice(turn, 'playout_start')),
    ms(turn.latency.e2e),
  ]);
  return [header, ...rows].map((row) => row.map((cell, i) => pad(cell, widths[i]!)).join(' ')).join('\n');
}

/** Where each turn's wait went: consecutive contributions (ms) that sum to e2e. */
export function waitTable(summary: SessionSnapshot): string {
  return playedReplies(summary)
    .map((turn) => {
      const parts = turn.latency.wait.map((slice) => `${slice.key}=${ms(slice.seconds)}`).join(' + ');
      return `turn ${turn.turnIndex}: ${parts || '(no user speech before this reply)'} = ${ms(turn.latency.e2e)} ms`;
    })
    .join('\n');
}

/** Usage per provider/model with the estimated cost. */
export function usageTable(summary: SessionSnapshot): string {
  const lines = summary.usage.map((usage) => {
    const cost = usage.cost === undefined ? 'no price' : `$${usage.cost.toFixed(5)}`;
    switch (usage.type) {
      case 'llm_usage':
        return `LLM ${usage.provider}/${usage.model}: ${usage.requests} requests, ${usage.inputTokens} input tokens (${usage.inputCachedTokens} cached), ${usage.outputTokens} output tokens, ${cost}`;
      case 'tts_usage':
        return `TTS ${usage.provider}/${usage.model}: ${usage.requests} requests, ${usage.charactersCount} characters, ${usage.audioDuration.toFixed(2)} s audio, ${cost}`;
      case 'stt_usage':
        return `STT ${usage.provider}/${usage.model}: ${usage.requests} requests, ${usage.audioDuration.toFixed(2)} s audio, ${cost}`;
      default:
        return `${usage.type} ${usage.provider}/${usage.model}: ${usage.totalRequests} requests`;
    }
  });
  lines.push(`total estimated cost: $${summary.totalCost.toFixed(5)} (list prices, an estimate)`);
  return lines.join('\n');
}
