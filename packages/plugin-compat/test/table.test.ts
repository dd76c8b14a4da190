import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { QUIRKS } from '../src/quirks.js';
import { readCompat } from '../src/results.js';
import { README, TABLE_END, TABLE_START, mergeEntries, renderCompatTable } from '../src/table.js';

describe('the README\'s compatibility table', () => {
  it('is rendered from compat.json (the suite\'s recorded facts): run `pnpm compat:gen` after recording', () => {
    const readme = readFileSync(README, 'utf8');
    const section = readme.slice(readme.indexOf(TABLE_START), readme.indexOf(TABLE_END) + TABLE_END.length);
    expect(section).toBe(renderCompatTable(readCompat()));
  });

  it('lists every plugin the suite verifies, each quirk explained once', () => {
    const rows = mergeEntries(readCompat());
    expect(new Set(rows.map((r) => r.plugin))).toEqual(
      new Set(['@livekit/agents', '@livekit/agents-plugin-deepgram', '@livekit/agents-plugin-elevenlabs', '@livekit/agents-plugin-google', '@livekit/agents-plugin-openai', '@livekit/agents-plugin-silero']),
    );
    for (const row of rows) for (const quirk of row.quirks) expect(QUIRKS[quirk], quirk).toBeDefined();
  });
});
