import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ATTR } from '@voicetrace/conventions';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTask } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { recoverJournals, SpanJournal } from '../src/span-journal.js';

const start = (spanId: string, attributes: Record<string, string> = {}) => ({
  traceId: 'a'.repeat(32),
  spanId,
  parentSpanId: spanId === '1'.repeat(16) ? undefined : '1'.repeat(16),
  name: `span-${spanId.slice(0, 1)}`,
  start: [1_800_000_000, 5] as [number, number],
  scope: 'livekit-agents',
  attributes,
});
const lines = (journal: SpanJournal) => (existsSync(journal.path) ? readFileSync(journal.path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { op: string; spanId: string }) : []);

describe('SpanJournal', () => {
  it('writes once per task: what started and ended in the task leaves no line, what is still open is written with its attributes', async () => {
    const journal = new SpanJournal(mkdtempSync(join(tmpdir(), 'vt-journal-')), 1);
    const attributes: Record<string, string> = { [ATTR.SESSION_ID]: 's1' };
    journal.started(start('1'.repeat(16), attributes));
    journal.started(start('2'.repeat(16)));
    journal.ended('2'.repeat(16));
    // attributes added before the write are in the line
    attributes[ATTR.STAGE] = 'session';
    expect(lines(journal)).toEqual([]);
    await nextTask();
    expect(lines(journal)).toEqual([{ op: 'start', traceId: 'a'.repeat(32), spanId: '1'.repeat(16), name: 'span-1', start: [1_800_000_000, 5], scope: 'livekit-agents', attributes: { [ATTR.SESSION_ID]: 's1', [ATTR.STAGE]: 'session' } }]);
    journal.ended('1'.repeat(16));
    await nextTask();
    expect(lines(journal).map((l) => `${l.op}:${l.spanId.slice(0, 1)}`)).toEqual(['start:1', 'end:1']);
    journal.close();
    expect(existsSync(journal.path)).toBe(false);
    journal.started(start('3'.repeat(16)));
    await nextTask();
    expect(existsSync(journal.path)).toBe(false);
  });

  it('a dead process\'s journal gives back its open spans, force-ended and flagged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vt-journal-'));
    const journal = new SpanJournal(dir, 999_999);
    journal.started(start('1'.repeat(16), { [ATTR.SESSION_ID]: 's1' }));
    journal.started(start('2'.repeat(16)));
    await nextTask();
    journal.ended('2'.repeat(16));
    journal.flush();
    const recovered: ReadableSpan[] = [];
    const count = recoverJournals(dir, { resource: { attributes: {} } as unknown as ReadableSpan['resource'], export: (spans) => void recovered.push(...spans), isAlive: () => false });
    expect(count).toBe(1);
    expect(recovered[0]!.spanContext().spanId).toBe('1'.repeat(16));
    expect(recovered[0]!.attributes).toMatchObject({ [ATTR.SESSION_ID]: 's1', [ATTR.FORCE_ENDED]: true, [ATTR.RECOVERED]: true });
  });
});
