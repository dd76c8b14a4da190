// Static checks of docker/ (no Docker engine here): images pinned, mounted files present,
// host ports on loopback only, Collector image version equal to the ocb manifest's.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../src/index.js';

const dockerDir = join(repoRoot(), 'docker');
const composeFiles = readdirSync(dockerDir).filter((f) => /^compose.*\.ya?ml$/.test(f));

interface Service {
  image?: string;
  command?: string[] | string;
  volumes?: Array<string | { type?: string; source?: string; target?: string }>;
  ports?: Array<string | { host_ip?: string; published?: string | number }>;
}
const load = (f: string) => parse(readFileSync(join(dockerDir, f), 'utf8')) as { services?: Record<string, Service> };

function bindMounts(svc: Service): Array<{ source: string; target: string }> {
  const out: Array<{ source: string; target: string }> = [];
  for (const v of svc.volumes ?? []) {
    if (typeof v === 'string') {
      const [source, target] = v.split(':');
      if (source && target && /^[./]/.test(source)) out.push({ source: resolve(dockerDir, source), target });
    } else if (v.type === 'bind' && v.source && v.target) {
      out.push({ source: resolve(dockerDir, v.source), target: v.target });
    }
  }
  return out;
}

describe('docker/ compose files', () => {
  it('exist', () => {
    expect(composeFiles).toEqual(expect.arrayContaining(['compose.yaml', 'compose.tempo.yaml', 'compose.prometheus.yaml']));
  });

  for (const file of composeFiles) {
    describe(file, () => {
      const services = Object.entries(load(file).services ?? {});

      it('pins every image to a version (no latest, no bare name)', () => {
        for (const [name, svc] of services) {
          if (!svc.image) continue; // an override of a service defined in compose.yaml
          const tag = svc.image.split('@')[0]!.split(':')[1];
          expect(tag, `${file} ${name}: ${svc.image}`).toBeDefined();
          expect(tag, `${file} ${name}`).not.toBe('latest');
          expect(tag, `${file} ${name}: ${svc.image}`).toMatch(/\d+\.\d+/);
        }
      });

      it('mounts only files that exist', () => {
        for (const [name, svc] of services) {
          for (const m of bindMounts(svc)) expect(existsSync(m.source), `${file} ${name}: ${m.source}`).toBe(true);
        }
      });

      it('passes the Collector only config files that exist in the mounted collector-config/', () => {
        for (const [name, svc] of services) {
          const args = Array.isArray(svc.command) ? svc.command : [];
          for (const arg of args) {
            const m = /^--config=(\/.+)$/.exec(arg);
            if (!m) continue;
            // The volumes may be declared in compose.yaml when this file only overrides the command.
            const mounts = [...bindMounts(svc), ...bindMounts(load('compose.yaml').services?.[name] ?? {})];
            const mount = mounts.find((x) => m[1]!.startsWith(`${x.target}/`));
            expect(mount, `${file} ${name}: no bind mount holds ${m[1]}`).toBeDefined();
            const onHost = join(mount!.source, m[1]!.slice(mount!.target.length));
            expect(existsSync(onHost), `${file} ${name}: ${onHost}`).toBe(true);
          }
        }
      });

      it('publishes host ports on 127.0.0.1 only', () => {
        for (const [name, svc] of services) {
          for (const p of svc.ports ?? []) {
            if (typeof p === 'string') expect(p, `${file} ${name}`).toMatch(/^127\.0\.0\.1:/);
            else expect(p.host_ip, `${file} ${name}`).toBe('127.0.0.1');
          }
        }
      });
    });
  }

  it('runs the Collector image at the version the ocb manifest builds', () => {
    const manifest = parse(readFileSync(join(repoRoot(), 'collector-config/build/manifest.yaml'), 'utf8')) as { dist: { version: string } };
    const image = load('compose.yaml').services?.collector?.image ?? '';
    expect(image).toBe(`otel/opentelemetry-collector-contrib:${manifest.dist.version}`);
  });

  it('scrapes the port the Collector exports span metrics on', () => {
    const prom = parse(readFileSync(join(dockerDir, 'prometheus/prometheus.yml'), 'utf8')) as { scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }> };
    const env = (load('compose.yaml').services?.collector as { environment?: Record<string, string> }).environment ?? {};
    const port = env.VOICETRACE_PROMETHEUS_ENDPOINT?.split(':').pop();
    expect(prom.scrape_configs[0]!.static_configs[0]!.targets).toContain(`collector:${port}`);
  });

  it('ships a parseable Grafana dashboard wired to provisioned datasources', () => {
    const dash = JSON.parse(readFileSync(join(dockerDir, 'grafana/dashboards/voice-agent-latency.json'), 'utf8')) as { panels: Array<{ datasource: { uid: string } }> };
    const ds = parse(readFileSync(join(dockerDir, 'grafana/provisioning/datasources/datasources.yaml'), 'utf8')) as { datasources: Array<{ uid: string }> };
    const uids = new Set(ds.datasources.map((d) => d.uid));
    expect(dash.panels.length).toBeGreaterThan(0);
    for (const p of dash.panels) expect(uids.has(p.datasource.uid), p.datasource.uid).toBe(true);
  });
});
