import type { SessionEngine, SessionModelObserver } from '@voicetrace/core';
import type { LangfuseScores } from '@voicetrace/langfuse';

/**
 * LangFuse scores from the session model: per played reply its wait (e2e,
 * seconds), whether it met the latency target, and whether it was
 * interrupted (on its `agent_turn` observation); each quality signal on its
 * turn's observation; per session the p95 wait, the cost and each signal's count. So LangFuse users can filter, chart and alert on calls by
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
      // each quality signal on its turn's agent turn observation (a signal can come after its reply's span)
      for (const record of snapshot.signalLog) {
        const turn = snapshot.turns.find((t) => t.index === record.turnIndex);
        const reply = turn?.replies.find((r) => r.speechId === record.speechId && r.span) ?? turn?.replies.find((r) => r.span);
        if (reply?.span) scores.signal({ traceId: reply.span.traceId, observationId: reply.span.spanId, signal: record.name, seconds: record.seconds, repeatsTurn: record.repeatsTurn, where: record.where });
      }
      const p95 = snapshot.latency.e2e.p95;
      if (p95 === undefined) return;
      const signals = Object.fromEntries(Object.entries(snapshot.signals).map(([name, totals]) => [name, totals?.count ?? 0]));
      scores.session({ sessionId: snapshot.sessionId, traceId: engine.sessionSpan()?.traceId, p95WaitSeconds: p95, costUsd: snapshot.totalCost, signals });
    },
  };
  engine.observe(observer);
}
