#!/usr/bin/env node
// Prints ATTRIBUTES.md; `pnpm attributes:gen` writes it, `scripts/check-attributes.mjs` compares.
// With the argument `metrics`, prints METRICS.md instead (checked by
// packages/test-backends/test/metrics-pipeline.test.ts).
import { renderAttributeTable, renderMetricTable } from './table.js';

process.stdout.write(process.argv[2] === 'metrics' ? renderMetricTable() : renderAttributeTable());
