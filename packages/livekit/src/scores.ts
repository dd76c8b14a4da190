import type { SessionEngine, SessionModelObserver } from '@voicetrace/core';
import type { LangfuseScores } from '@voicetrace/langfuse';

/**
 * LangFuse scores from the session model: per played reply its wait (e2e,
 * seconds), whether it met the latency target, and whether it was
 * interrupted (on its `agent_turn` observation); per session the p95 wait
 * and the cost. So LangFuse users can filter, chart and alert on calls by
 * latency. Posting never blocks or throws (LangfuseScores counts failures).
 */
export function scoreSession(engine: SessionEngine, scores: LangfuseScores, latencyTargetSeconds: number): void {
  const observer: SessionModelObserver = {
    onReplyComplete: (reply) => {
      const e2e = reply.latency?.e2e;
      if (e2e === undefined || !reply.span) return;
      scores.turn({ traceId: reply.span.traceId, observationId: reply.span.spanId, e2eSeconds: e2e, latencyTargetSeconds, interrupted: reply.interrupted });
    },
    onSessionEnd: (snapshot) => {
      const p95 = snapshot.latency.e2e.p95;
      if (p95 === undefined) return;
      scores.session({ sessionId: snapshot.sessionId, traceId: engine.sessionSpan()?.traceId, p95WaitSeconds: p95, costUsd: snapshot.totalCost });
    },
  };
  engine.observe(observer);
}
