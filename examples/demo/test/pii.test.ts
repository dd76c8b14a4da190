import { startLangfuseContractServer } from '@voicetrace/langfuse-contract';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/run-demo.js';
import { readSpans } from './otlp-json.js';

const CONTENT_KEYS = ['gen_ai.input.messages', 'gen_ai.output.messages', 'gen_ai.system_instructions', 'gen_ai.tool.call.arguments', 'gen_ai.tool.call.result'];

describe('PII switch off: no transcript, tool argument or output leaves the process', () => {
  it('the exported file holds no PII attribute and none of the spoken text', async () => {
    // LangFuse configured too: audio is content, so no clip is cut and none reaches its media API
    const langfuse = await startLangfuseContractServer({ publicKey: 'pk-lf-pii', secretKey: 'sk-lf-pii' });
    const result = await runDemo({ out: mkdtempSync(join(tmpdir(), 'voicetrace-pii-')), voicetrace: { allowPii: false, langfuse: { publicKey: 'pk-lf-pii', secretKey: 'sk-lf-pii', baseUrl: langfuse.baseUrl } } });
    await langfuse.close();
    expect(langfuse.spans.length).toBeGreaterThan(50);
    expect(langfuse.media()).toEqual([]);
    expect(langfuse.requests.filter((r) => r.path.startsWith('/api/public/media'))).toEqual([]);
    expect(existsSync(join(result.tracesPath, '..', 'clips'))).toBe(false);
    const spans = readSpans(result.tracesPath);
    expect(spans.length).toBeGreaterThan(50);
    for (const span of spans) {
      for (const key of Object.keys(span.attributes)) {
        expect(key.includes('.pii.') || CONTENT_KEYS.includes(key) || key === 'user.id', `${span.name}: ${key}`).toBe(false);
      }
    }
    const raw = readFileSync(result.tracesPath, 'utf8');
    for (const said of ['weather like in Paris', 'charged twice', 'eighteen degrees', '"city":"Paris"']) expect(raw).not.toContain(said);
    // the metrics survive: latency and usage are not PII
    expect(spans.some((s) => s.attributes['voicetrace.latency.e2e'] !== undefined)).toBe(true);
  }, 120_000);
});
