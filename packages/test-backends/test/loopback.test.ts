// Every example config listens on loopback unless told otherwise: each Collector config, overlay
// and test config is parsed, and every address something listens on (receivers, extensions, the
// Prometheus exporter, the Collector's own metrics) must default to a loopback host; every port a
// compose file publishes must be bound to the host's loopback; a backend config meant for the
// container network (docker/tempo) must not have its listeners published at all.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../src/index.js';

const root = repoRoot();
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[?::1\]?)$/;

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

/** The value the Collector uses when no variable is set: `${env:X:-d}` -> d, `${env:X}` -> undefined. */
function defaulted(value: unknown): string | undefined {
  const text = String(value ?? '');
  const expanded = text.replace(/\$\{env:[A-Za-z_][A-Za-z0-9_]*(?::-([^}]*))?\}/g, (_, fallback: string | undefined) => fallback ?? '\u0000');
  return expanded.includes('\u0000') ? undefined : expanded;
}

/** `host:port`, `[::1]:port`, `host` or `:port` -> the host ('' when the address has none: all interfaces). */
function hostOf(address: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (v6) return `[${v6[1]}]`;
  const i = address.lastIndexOf(':');
  return i >= 0 && /^\d+$/.test(address.slice(i + 1)) ? address.slice(0, i) : address;
}

type Listener = { where: string; address: unknown };

/** Every `endpoint` (or `host`) at any depth under `node`, with its path. */
function endpoints(node: unknown, path: string, out: Listener[] = []): Listener[] {
  if (!node || typeof node !== 'object') return out;
  for (const [key, value] of Object.entries(node)) {
    const at = `${path}.${key}`;
    if ((key === 'endpoint' || key === 'host') && (typeof value === 'string' || typeof value === 'number')) out.push({ where: at, address: value });
    else endpoints(value, at, out);
  }
  return out;
}

/** What a Collector config listens on: receivers, extensions, Prometheus exporters, its own metrics. */
function collectorListeners(config: Record<string, unknown>): Listener[] {
  const listeners: Listener[] = [];
  for (const [id, receiver] of Object.entries((config.receivers ?? {}) as Record<string, unknown>)) listeners.push(...endpoints(receiver, `receivers.${id}`));
  for (const [id, extension] of Object.entries((config.extensions ?? {}) as Record<string, unknown>)) {
    // client-side extensions (auth, storage) have no listener; an endpoint is a listener
    listeners.push(...endpoints(extension, `extensions.${id}`).filter((l) => l.where.endsWith('.endpoint')));
  }
  for (const [id, exporter] of Object.entries((config.exporters ?? {}) as Record<string, unknown>)) {
    if (id === 'prometheus' || id.startsWith('prometheus/')) listeners.push(...endpoints(exporter, `exporters.${id}`));
  }
  const telemetry = (config.service as { telemetry?: unknown } | undefined)?.telemetry;
  listeners.push(...endpoints(telemetry, 'service.telemetry').filter((l) => l.where.endsWith('.host')));
  return listeners;
}

const collectorFiles = yamlFiles(join(root, 'collector-config'));
const composeFiles = readdirSync(join(root, 'docker'))
  .filter((f) => /^compose.*\.ya?ml$/.test(f))
  .map((f) => join(root, 'docker', f));

describe('example configs bind to loopback unless told otherwise', () => {
  it('finds the configs (collector-config/**, docker/compose*.yaml)', () => {
    expect(collectorFiles.map((f) => relative(root, f))).toEqual(expect.arrayContaining(['collector-config/sidecar.yaml', 'collector-config/gateway.yaml', 'collector-config/sidecar-to-gateway.yaml', 'collector-config/overlays/jaeger.yaml', 'collector-config/testing/langfuse-receiver.yaml']));
    expect(composeFiles.length).toBeGreaterThanOrEqual(3);
  });

  for (const file of collectorFiles) {
    const name = relative(root, file);
    it(`${name}: every receiver, extension and metrics endpoint defaults to loopback`, () => {
      const config = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      if (name.endsWith('build/manifest.yaml')) return; // the builder's manifest, not a config
      const listeners = collectorListeners(config);
      if (name.endsWith('sidecar.yaml') || name.endsWith('gateway.yaml')) expect(listeners.length, name).toBeGreaterThanOrEqual(4);
      for (const { where, address } of listeners) {
        const value = defaulted(address);
        expect(value, `${name} ${where} = ${String(address)}: a listener needs a loopback default`).toBeDefined();
        const host = where.endsWith('.host') ? value! : hostOf(value!);
        expect(host, `${name} ${where} = ${String(address)} listens on ${host || 'every interface'}`).toMatch(LOOPBACK);
      }
    });
  }

  for (const file of composeFiles) {
    const name = relative(root, file);
    it(`${name}: every published port is bound to the host's loopback`, () => {
      const compose = parse(readFileSync(file, 'utf8')) as { services?: Record<string, { ports?: Array<string | number | { host_ip?: string; published?: unknown }> }> };
      for (const [service, spec] of Object.entries(compose.services ?? {})) {
        for (const port of spec.ports ?? []) {
          if (typeof port === 'object') {
            expect(port.host_ip, `${name} ${service} ${JSON.stringify(port)}`).toMatch(LOOPBACK);
            continue;
          }
          // short syntax: [HOST_IP:]HOST_PORT:CONTAINER_PORT[/proto]; without HOST_IP Docker binds 0.0.0.0
          const parts = String(port).replace(/\/(tcp|udp)$/, '').split(':');
          expect(parts.length, `${name} ${service} "${port}" publishes on every interface`).toBe(3);
          expect(parts[0], `${name} ${service} "${port}"`).toMatch(LOOPBACK);
        }
      }
    });
  }

  it('docker/tempo/tempo.yaml listens on the container network only: none of its receiver ports is published', () => {
    const tempo = parse(readFileSync(join(root, 'docker/tempo/tempo.yaml'), 'utf8')) as Record<string, unknown>;
    const receiverPorts = endpoints(tempo, 'tempo').map((l) => String(defaulted(l.address)).split(':').pop());
    expect(receiverPorts.length).toBeGreaterThan(0);
    const published = composeFiles.flatMap((f) => {
      const compose = parse(readFileSync(f, 'utf8')) as { services?: Record<string, { ports?: unknown[] }> };
      return (compose.services?.tempo?.ports ?? []).map((p) => String(p).split(':').slice(-2)[0]);
    });
    for (const port of receiverPorts) expect(published, `tempo receiver port ${port}`).not.toContain(port);
  });
});
