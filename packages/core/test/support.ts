// Shared by the core tests: a metrics reader collected in process, and a user turn fed to the model.
import { AggregationTemporality, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { expect } from 'vitest';
import type { SessionModel } from '../src/model/session-model.js';

/** A reader the test collects on demand (cumulative, as the Collector's Prometheus exporter needs). */
export class CollectingReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  async metrics(): Promise<Map<string, MetricData>> {
    const { resourceMetrics, errors } = await this.collect();
    expect(errors).toEqual([]);
    return new Map(resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m]));
  }
  /** The sum of a counter's data points (0 when it has none). */
  async sum(name: string): Promise<number> {
    return ((await this.metrics()).get(name)?.dataPoints ?? []).reduce((n, p) => n + (p.value as number), 0);
  }
}

/**
 * A user turn up to its reply's start, the way the engine feeds the model: speech from t+0.1 to t+1.5,
 * the final transcript at t+1.7, the end of turn at t+1.8, where the reply `speechId` begins.
 */
export function userTurnToReply(m: SessionModel, t: number, speechId: string): void {
  m.beginUserTurn(t);
  m.noteUserSpeech(true, t + 0.1);
  m.noteUserSpeech(false, t + 1.5);
  m.noteTranscript(true, 'hello', t + 1.7);
  m.setEou({ kind: 'eou', at: t + 1.8, speechId, eouDelay: 0.3, transcriptionDelay: 0.2, onUserTurnCompletedDelay: 0, lastSpeakingTime: t + 1.5 });
  m.endUserTurn(t + 1.8, {});
  m.reply(speechId, t + 1.8, 'front_desk');
}
