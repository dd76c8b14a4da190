import { SpanKind } from '@opentelemetry/api';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OtlpJsonLinesFileExporter } from '../src/file-exporter.js';
import { ReportingSpanExporter } from '../src/reporting-exporter.js';
import { exportSpans, FAILED, makeSpans, SUCCESS } from './helpers.js';

interface JsonAttribute {
  key: string;
  value: Record<string, unknown>;
}

const lines = async (path: string) =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));

describe('OtlpJsonLinesFileExporter', () => {
  it('writes one OTLP/JSON ExportTraceServiceRequest per line in the Collector file format', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'voicetrace-')), 'nested', 'dir', 'traces.jsonl');
    const exporter = new OtlpJsonLinesFileExporter(path);
    const spans = makeSpans(3, (index) => ({ 'gen_ai.request.model': 'gpt-x', index, 'lk.e2e_latency': 1.25, interrupted: false }));
    expect((await exportSpans(exporter, spans.slice(0, 2))).code).toBe(SUCCESS);
    expect((await exportSpans(exporter, spans.slice(2))).code).toBe(SUCCESS);
    await exporter.shutdown();

    const [first, second] = await lines(path);
    expect(Object.keys(first)).toEqual(['resourceSpans']);
    const resource = first.resourceSpans[0];
    expect(resource.resource.attributes).toContainEqual({ key: 'service.name', value: { stringValue: 'voicetrace-test' } });
    const scope = resource.scopeSpans[0];
    expect(scope.scope).toMatchObject({ name: 'livekit-agents', version: '1.9.0' });
    const [root, child] = scope.spans;
    // ids are hex strings, not base64
    expect(root.traceId).toBe(spans[0]!.spanContext().traceId);
    expect(root.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(root.spanId).toBe(spans[0]!.spanContext().spanId);
    expect(root.parentSpanId).toBeUndefined();
    expect(child.parentSpanId).toBe(root.spanId);
    // enums are integers: INTERNAL = 1, CLIENT = 3 (the API's value + 1), status OK = 1
    expect(root.kind).toBe(SpanKind.INTERNAL + 1);
    expect(child.kind).toBe(3);
    expect(child.status).toEqual({ code: 1 });
    // 64-bit nanosecond timestamps are decimal strings
    expect(root.startTimeUnixNano).toMatch(/^\d{19}$/);
    expect(BigInt(root.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(root.startTimeUnixNano));
    const attributes = Object.fromEntries((child.attributes as JsonAttribute[]).map((a) => [a.key, a.value]));
    expect(attributes).toEqual({
      'gen_ai.request.model': { stringValue: 'gpt-x' },
      index: { intValue: '1' },
      'lk.e2e_latency': { doubleValue: 1.25 },
      interrupted: { boolValue: false },
    });
    expect(child.events[0]).toMatchObject({ name: 'first_token', attributes: [{ key: 'lk.ttft', value: { doubleValue: 0.25 } }] });
    expect(second.resourceSpans[0].scopeSpans[0].spans[0].spanId).toBe(spans[2]!.spanContext().spanId);
    expect(exporter.stats()).toMatchObject({ exportedSpans: 3, successfulExports: 2 });
  });

  it('writes 64-bit integers as strings without touching text that looks like one', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'voicetrace-')), 'ints.jsonl');
    const exporter = new OtlpJsonLinesFileExporter(path);
    await exportSpans(exporter, makeSpans(1, () => ({ negative: -42, text: '{"intValue":5}', nested: ['"intValue":7'] })));
    await exporter.shutdown();
    const [line] = await lines(path);
    const attributes = Object.fromEntries((line.resourceSpans[0].scopeSpans[0].spans[0].attributes as JsonAttribute[]).map((a) => [a.key, a.value]));
    expect(attributes).toEqual({
      negative: { intValue: '-42' },
      text: { stringValue: '{"intValue":5}' },
      nested: { arrayValue: { values: [{ stringValue: '"intValue":7' }] } },
    });
  });

  it('keeps lines in export order when exports are not awaited', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'voicetrace-')), 'order.jsonl');
    const exporter = new OtlpJsonLinesFileExporter(path);
    const results: number[] = [];
    for (let index = 0; index < 25; index++) exporter.export(makeSpans(1, () => ({ seq: index })), (result) => results.push(result.code));
    await exporter.forceFlush();
    expect(results).toEqual(Array(25).fill(SUCCESS));
    const seqs = (await lines(path)).map((line) => line.resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.intValue as string);
    expect(seqs).toEqual([...Array(25).keys()].map(String));
    await exporter.shutdown();
  });

  it('reports an unwritable path through the callback and the counters, never throwing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'voicetrace-'));
    await writeFile(join(dir, 'file'), 'not a directory');
    const exporter = new OtlpJsonLinesFileExporter(join(dir, 'file', 'traces.jsonl'));
    const result = await exportSpans(exporter, makeSpans(2));
    expect(result.code).toBe(FAILED);
    expect(exporter.stats()).toMatchObject({ failedSpans: 2, failedExports: 1 });
    await exporter.shutdown();
  });

  it('counts each span once behind a ReportingSpanExporter (as setupVoiceTrace wraps it)', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'voicetrace-')), 'reported.jsonl');
    const exporter = new ReportingSpanExporter(new OtlpJsonLinesFileExporter(path), { target: path, what: 'traces file', logger: () => {} });
    const spans = makeSpans(3);
    expect((await exportSpans(exporter, spans.slice(0, 2))).code).toBe(SUCCESS);
    expect((await exportSpans(exporter, spans.slice(2))).code).toBe(SUCCESS);
    await exporter.shutdown();
    expect((await lines(path)).flatMap((line) => line.resourceSpans[0].scopeSpans[0].spans)).toHaveLength(3);
    expect(exporter.stats()).toMatchObject({ exportedSpans: 3, successfulExports: 2, failedSpans: 0, failedExports: 0 });
  });

  it('counts each failure once behind a ReportingSpanExporter', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'voicetrace-'));
    await writeFile(join(dir, 'file'), 'not a directory');
    const path = join(dir, 'file', 'traces.jsonl');
    const exporter = new ReportingSpanExporter(new OtlpJsonLinesFileExporter(path), { target: path, logger: () => {} });
    expect((await exportSpans(exporter, makeSpans(2))).code).toBe(FAILED);
    const stats = exporter.stats();
    expect(stats).toMatchObject({ exportedSpans: 0, failedSpans: 2, successfulExports: 0, failedExports: 1 });
    expect(Object.values(stats.failuresByReason).reduce((a, b) => a + b, 0)).toBe(1);
    expect(stats.lastFailure).toBeDefined();
    await exporter.shutdown();
  });

  it('fails exports after shutdown instead of writing', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'voicetrace-')), 'late.jsonl');
    const exporter = new OtlpJsonLinesFileExporter(path);
    await exporter.shutdown();
    await exporter.shutdown();
    expect((await exportSpans(exporter, makeSpans(1))).code).toBe(FAILED);
    expect(exporter.stats().failedSpans).toBe(1);
  });
});
