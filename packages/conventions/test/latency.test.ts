// The latency and wait tables of the conventions: every figure and slice names an attribute that
// ATTRIBUTE_SPECS defines (so ATTRIBUTES.md documents it), and what is derived from them stays derived.
import { describe, expect, it } from 'vitest';
import {
  ATTRIBUTE_SPECS,
  LATENCY_STAGES,
  METRIC_SPECS,
  SESSION_LATENCY_METRICS,
  WAIT_CONTRIBUTIONS,
  WAIT_OWNER_LABELS,
  renderAttributeTable,
  sessionLatencyKey,
} from '../src/index.js';

const spec = (key: string) => ATTRIBUTE_SPECS.find((s) => s.key === key);

describe('LATENCY_STAGES', () => {
  it('has one row per key, each with a label and a meaning', () => {
    expect(new Set(LATENCY_STAGES.map((s) => s.key)).size).toBe(LATENCY_STAGES.length);
    expect(new Set(LATENCY_STAGES.map((s) => s.field)).size).toBe(LATENCY_STAGES.length);
    expect(new Set(LATENCY_STAGES.map((s) => s.label)).size).toBe(LATENCY_STAGES.length);
    for (const s of LATENCY_STAGES) {
      expect(s.label.trim(), s.key).not.toBe('');
      expect(s.meaning.trim(), s.key).not.toBe('');
    }
  });

  it('names agent turn attributes that ATTRIBUTE_SPECS defines (seconds, voicetrace.latency.<key>)', () => {
    for (const s of LATENCY_STAGES) {
      const found = spec(s.attribute);
      expect(found, s.attribute).toBeDefined();
      expect(s.attribute).toBe(`voicetrace.latency.${s.key}`);
      expect(found!.stages).toContain('agent_turn');
      expect(found!.type).toBe('double');
      expect(found!.unit).toBe('s');
      expect(s.meaning).toBe(found!.brief);
    }
    // no latency attribute of the agent turn is left out of the table (anchor_shift is a correction, not a figure)
    const figures = new Set<string>(LATENCY_STAGES.map((s) => s.attribute));
    const unlisted = ATTRIBUTE_SPECS.filter((s) => s.key.startsWith('voicetrace.latency.') && !figures.has(s.key)).map((s) => s.key);
    expect(unlisted).toEqual(['voicetrace.latency.anchor_shift']);
  });

  it('session percentiles: exactly the rows marked sessionPercentile, in table order, each p50/p95 attribute defined', () => {
    expect([...SESSION_LATENCY_METRICS]).toEqual(LATENCY_STAGES.filter((s) => s.sessionPercentile).map((s) => s.key));
    for (const metric of SESSION_LATENCY_METRICS) {
      for (const q of ['p50', 'p95'] as const) {
        const found = spec(sessionLatencyKey(metric, q));
        expect(found, sessionLatencyKey(metric, q)).toBeDefined();
        expect(found!.stages).toEqual(['session']);
      }
    }
    const sessionKeys = ATTRIBUTE_SPECS.filter((s) => s.key.startsWith('voicetrace.session.latency.')).map((s) => s.key);
    expect(sessionKeys).toHaveLength(SESSION_LATENCY_METRICS.length * 2);
  });

  it('the per-turn latency histograms record figures of the table, and their brief names its attribute', () => {
    const histograms = METRIC_SPECS.filter((m) => m.latency);
    expect(histograms.map((m) => m.name)).toEqual(METRIC_SPECS.filter((m) => m.name.startsWith('lk.agents.turn.')).map((m) => m.name));
    for (const m of histograms) {
      const figure = LATENCY_STAGES.find((s) => s.key === m.latency!.stage);
      expect(figure, m.name).toBeDefined();
      expect(m.brief).toContain(`\`${figure!.attribute}\``);
    }
  });

  it('is rendered into ATTRIBUTES.md with its meaning, in order', () => {
    const md = renderAttributeTable();
    const section = md.slice(md.indexOf('## Latency figures'), md.indexOf('## Wait contributions'));
    const rows = section.split('\n').filter((l) => /^\| [a-z0-9_]+ \|/.test(l)).slice(1); // after the header
    expect(rows.map((r) => r.split(' | ')[0]!.slice(2))).toEqual(LATENCY_STAGES.map((s) => s.key));
    for (const [i, s] of LATENCY_STAGES.entries()) {
      expect(rows[i]).toContain(`\`${s.attribute}\``);
      expect(rows[i]).toContain(s.label);
      expect(rows[i]).toContain(s.meaning.replace(/\|/g, '\\|'));
    }
  });
});

describe('WAIT_CONTRIBUTIONS', () => {
  it('names agent turn attributes that ATTRIBUTE_SPECS defines (voicetrace.wait.<key>, seconds)', () => {
    expect(new Set(WAIT_CONTRIBUTIONS.map((c) => c.key)).size).toBe(WAIT_CONTRIBUTIONS.length);
    for (const c of WAIT_CONTRIBUTIONS) {
      const found = spec(c.attribute);
      expect(found, c.attribute).toBeDefined();
      expect(c.attribute).toBe(`voicetrace.wait.${c.key}`);
      expect(found!.stages).toEqual(['agent_turn']);
      expect(found!.unit).toBe('s');
      expect(c.label.trim(), c.key).not.toBe('');
    }
    const listed = new Set<string>(WAIT_CONTRIBUTIONS.map((c) => c.attribute));
    const unlisted = ATTRIBUTE_SPECS.filter((s) => s.key.startsWith('voicetrace.wait.') && !listed.has(s.key)).map((s) => s.key);
    expect(unlisted).toEqual(['voicetrace.wait.breakdown']);
  });

  it('every owner has a label, in the order the owners first appear', () => {
    const owners = [...new Set(WAIT_CONTRIBUTIONS.map((c) => c.owner))];
    expect(Object.keys(WAIT_OWNER_LABELS)).toEqual(owners);
    for (const label of Object.values(WAIT_OWNER_LABELS)) expect(label.trim()).not.toBe('');
  });
});
