import { backendsOrSkip, startCollector } from '@voicetrace/test-backends';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLangfuseSpanExporter } from '../src/exporter.js';
import { exportSpans, FAILED, makeSpans, SUCCESS } from './helpers.js';

// Top-level await: the binary is built or found once, and the suite is skipped loudly without it
// (under CI=true a missing binary fails instead).
const bins = await backendsOrSkip('collector');

const keys = { publicKey: 'pk-lf-collector', secretKey: 'sk-lf-collector' };

describe.skipIf(!bins)('createLangfuseSpanExporter against a real Collector at LangFuse\'s path behind basicauth', () => {
  it('delivers with the right keys (protobuf, gzip) and gets a final 401 with wrong ones', async () => {
    const output = join(await mkdtemp(join(tmpdir(), 'voicetrace-langfuse-')), 'accepted.jsonl');
    const collector = await startCollector({
      configFiles: [fileURLToPath(new URL('./fixtures/langfuse-like-collector.yaml', import.meta.url))],
      env: { VOICETRACE_TEST_LANGFUSE_PUBLIC_KEY: keys.publicKey, VOICETRACE_TEST_LANGFUSE_SECRET_KEY: keys.secretKey, VOICETRACE_TEST_OUTPUT: output },
    });
    try {
      const messages: string[] = [];
      const good = createLangfuseSpanExporter({ ...keys, baseUrl: collector.otlpHttpUrl }, { env: {}, logger: (message) => messages.push(message) });
      const spans = makeSpans(3, () => ({ 'langfuse.observation.type': 'generation' }));
      expect((await exportSpans(good, spans)).code).toBe(SUCCESS);
      await good.shutdown();

      const bad = createLangfuseSpanExporter({ ...keys, secretKey: 'wrong', baseUrl: `${collector.otlpHttpUrl}/` }, { env: {}, logger: (message) => messages.push(message) });
      expect((await exportSpans(bad, makeSpans(1))).code).toBe(FAILED);
      expect(bad.stats()).toMatchObject({ requests: 1, retries: 0, failuresByReason: { http_401: 1 } });
      expect(messages).toHaveLength(1);
      expect(messages[0]).toContain('failed with HTTP 401');
      await bad.shutdown();

      const wanted = new Set(spans.map((span) => span.spanContext().spanId));
      const arrived = new Set<string>();
      for (let waited = 0; waited < 5_000 && arrived.size < wanted.size; waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        if (!existsSync(output)) continue;
        for (const line of (await readFile(output, 'utf8')).split('\n').filter(Boolean)) {
          for (const resource of JSON.parse(line).resourceSpans) for (const scope of resource.scopeSpans) for (const span of scope.spans) arrived.add(span.spanId);
        }
      }
      expect(arrived).toEqual(wanted);
    } finally {
      await collector.stop();
    }
  });
});
