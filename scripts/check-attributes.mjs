// Fails when ATTRIBUTES.md or METRICS.md differs from what packages/conventions generates.
import { readFileSync } from 'node:fs';
import { renderAttributeTable, renderMetricTable } from '../packages/conventions/dist/index.js';

const tables = [
  ['ATTRIBUTES.md', renderAttributeTable(), 'attributes:gen'],
  ['METRICS.md', renderMetricTable(), 'metrics:gen'],
];
let stale = 0;
for (const [file, expected, script] of tables) {
  const actual = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
  if (actual === expected) continue;
  console.error(`${file} is out of date: run \`pnpm ${script}\` and commit it.`);
  stale++;
}
if (stale) process.exit(1);
console.log('ATTRIBUTES.md and METRICS.md are in sync with packages/conventions.');
