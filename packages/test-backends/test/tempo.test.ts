// Tempo cannot be built on these machines (the Go module proxy refuses github.com/grafana/tempo,
// AGPL-3.0), so the harness reports it unavailable and tests needing it are skipped loudly,
// on a user's machine and under CI=true alike. Tempo stays configured for users
// (collector-config/overlays/tempo.yaml, docker/compose.tempo.yaml).
import { describe, expect, it } from 'vitest';
import { backendOrSkip, ensureBinary, TEMPO_UNAVAILABLE_REASON } from '../src/index.js';

const tempo = await backendOrSkip('tempo');

describe('Tempo availability', () => {
  it('is reported unavailable, permanently, with the reason', async () => {
    const r = await ensureBinary('tempo');
    expect(r.available).toBe(false);
    if (!r.available) {
      expect(r.permanent).toBe(true);
      expect(r.reason).toBe(TEMPO_UNAVAILABLE_REASON);
    }
    expect(tempo).toBeUndefined();
  });
});

describe.skipIf(!tempo)('collector -> Tempo (TraceQL on stage and latency)', () => {
  it.todo('runs once a Tempo binary can be obtained (start Tempo, query /api/search?q={ span.voicetrace.stage = "tts" })');
});
