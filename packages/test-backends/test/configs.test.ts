// Static checks of collector-config/ that `otelcol validate` cannot make (CI also runs
// scripts/validate-collector-config.sh, which validates and smoke-starts every combination).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../src/index.js';

const dir = join(repoRoot(), 'collector-config');
type Cfg = {
  receivers?: Record<string, unknown>;
  processors?: Record<string, unknown>;
  exporters?: Record<string, { sending_queue?: { storage?: string } } | null>;
  connectors?: Record<string, { dimensions?: Array<{ name: string }> } | null>;
  extensions?: Record<string, unknown>;
  service?: { pipelines?: Record<string, { receivers?: string[]; exporters?: string[]; processors?: string[] }> };
};
const read = (f: string) => readFileSync(join(dir, f), 'utf8');
const load = (f: string) => parse(read(f)) as Cfg;
const bases = ['sidecar.yaml', 'gateway.yaml', 'sidecar-to-gateway.yaml'];
const overlays = readdirSync(join(dir, 'overlays')).map((f) => `overlays/${f}`);
const all = [...bases, ...overlays, 'testing/langfuse-receiver.yaml'];

// Component type -> the module that provides it in build/manifest.yaml.
const MODULE_OF: Record<string, string> = {
  otlp: 'receiver/otlpreceiver', batch: 'processor/batchprocessor', memory_limiter: 'processor/memorylimiterprocessor',
  tail_sampling: 'processor/tailsamplingprocessor', transform: 'processor/transformprocessor', otlp_grpc: 'exporter/otlpexporter',
  otlp_http: 'exporter/otlphttpexporter', debug: 'exporter/debugexporter', nop: 'exporter/nopexporter', file: 'exporter/fileexporter',
  load_balancing: 'exporter/loadbalancingexporter', prometheus: 'exporter/prometheusexporter', forward: 'connector/forwardconnector',
  span_metrics: 'connector/spanmetricsconnector', health_check: 'extension/healthcheckextension', file_storage: 'extension/storage/filestorage',
  basicauth: 'extension/basicauthextension', bearertokenauth: 'extension/bearertokenauthextension',
};

describe('collector-config', () => {
  it('deletes PII identically in every base config', () => {
    const blocks = bases.map((f) => JSON.stringify(load(f).processors?.['transform/redact_pii']));
    expect(blocks[0]).toContain('[.]pii[.]');
    for (const b of blocks) expect(b).toBe(blocks[0]);
  });

  it('defaults every listener to loopback', () => {
    for (const f of all) {
      const text = read(f);
      for (const m of text.matchAll(/\$\{env:VOICETRACE_\w*(ENDPOINT|HOST)\w*:-([^}]+)\}/g)) {
        expect(m[2], `${f}: ${m[0]}`).toMatch(/^127\.0\.0\.1(:\d+)?$/);
      }
      expect(text, f).not.toMatch(/^\s*(endpoint|host):\s*"?0\.0\.0\.0/m);
    }
  });

  it('overlays attach to the shared export fan-out only', () => {
    for (const f of overlays) {
      for (const [name, p] of Object.entries(load(f).service?.pipelines ?? {})) {
        if (name === 'traces/sample') continue; // tail-sampling.yaml sets the sampling stage's processors
        // python-agents.yaml puts its transform into the ingest pipeline's processors (checked in packages/python-collector)
        if (f === 'overlays/python-agents.yaml' && name === 'traces') continue;
        expect(p.receivers, `${f} ${name}`).toEqual(['forward/export']);
      }
    }
  });

  it('gives every backend exporter a persistent queue', () => {
    for (const f of [...bases, ...overlays]) {
      for (const [id, cfg] of Object.entries(load(f).exporters ?? {})) {
        if (/^(otlp_grpc|otlp_http|load_balancing)(\/|$)/.test(id)) expect(cfg?.sending_queue?.storage, `${f} ${id}`).toBe('file_storage');
      }
    }
  });

  it('keeps span-metric dimensions bounded (never session or speech ids)', () => {
    for (const f of bases) {
      const dims = load(f).connectors?.span_metrics?.dimensions?.map((d) => d.name);
      if (dims === undefined) continue; // sidecar-to-gateway: span metrics live on the gateways
      expect(dims, f).toEqual(['voicetrace.stage', 'gen_ai.provider.name', 'gen_ai.request.model', 'gen_ai.agent.name']);
    }
  });

  it('builds exactly the components the configs use', () => {
    const used = new Set<string>();
    for (const f of all) {
      const c = load(f);
      for (const kind of ['receivers', 'processors', 'exporters', 'connectors', 'extensions'] as const) {
        for (const id of Object.keys(c[kind] ?? {})) used.add(id.split('/')[0]!);
      }
    }
    const manifest = read('build/manifest.yaml');
    const built = [...manifest.matchAll(/gomod: \S+?\/((receiver|processor|exporter|connector|extension)\/\S+) v/g)].map((m) => m[1]!);
    const usedModules = [...used].map((t) => MODULE_OF[t] ?? `unknown type ${t}`);
    expect(new Set(usedModules)).toEqual(new Set(built));
  });
});
