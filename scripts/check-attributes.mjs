// Fails when ATTRIBUTES.md differs from what packages/conventions generates.
import { readFileSync } from 'node:fs';
import { renderAttributeTable } from '../packages/conventions/dist/index.js';

const expected = renderAttributeTable();
const actual = readFileSync(new URL('../ATTRIBUTES.md', import.meta.url), 'utf8');
if (actual !== expected) {
  console.error('ATTRIBUTES.md is out of date: run `pnpm attributes:gen` and commit it.');
  process.exit(1);
}
console.log('ATTRIBUTES.md is in sync with packages/conventions.');
