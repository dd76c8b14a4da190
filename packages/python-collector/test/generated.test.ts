// The committed overlay is the generator's output (as ATTRIBUTES.md is the conventions'), and it
// fits the base configs it is merged over.
import { ATTRIBUTE_SPECS, STAGES } from '@voicetrace/conventions';
import { collectorConfigPath } from '@voicetrace/test-backends';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderOverlay, statementGroups, TRACES_PROCESSORS } from '../src/overlay.js';
import { OVERLAY_PATH } from '../src/paths.js';
import { PYTHON_SPAN_STAGE } from '../src/sdk-shape.js';

describe('collector-config/overlays/python-agents.yaml', () => {
  it('is what the generator makes of @voicetrace/conventions and the price table (run `pnpm python-collector:gen` and commit it)', () => {
    expect(readFileSync(OVERLAY_PATH, 'utf8')).toBe(renderOverlay());
  });

  it('puts its transform between the memory limiter and PII deletion of both base configs (which own the rest of that list)', () => {
    for (const base of ['sidecar.yaml', 'gateway.yaml']) {
      const processors = parse(readFileSync(collectorConfigPath(base), 'utf8')).service.pipelines.traces.processors as string[];
      expect(processors.filter((p) => p !== 'transform/python_agents')).toEqual(TRACES_PROCESSORS.filter((p) => p !== 'transform/python_agents'));
    }
    expect(parse(readFileSync(OVERLAY_PATH, 'utf8')).service.pipelines.traces.processors).toEqual([...TRACES_PROCESSORS]);
  });

  it('writes only stages and voicetrace attributes the conventions define', () => {
    for (const stage of Object.values(PYTHON_SPAN_STAGE)) expect(STAGES).toContain(stage);
    const known = new Set(ATTRIBUTE_SPECS.map((spec) => spec.key));
    const written = statementGroups()
      .flatMap((group) => group.statements)
      .filter((s): s is string => typeof s === 'string')
      .flatMap((s) => [...s.matchAll(/^set\(span\.attributes\["(voicetrace\.[^"]+)"\]/g)].map((m) => m[1]!));
    expect(written.length).toBeGreaterThan(10);
    for (const key of written) expect(known, key).toContain(key);
  });
});
