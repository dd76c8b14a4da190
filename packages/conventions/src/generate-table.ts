#!/usr/bin/env node
// Prints ATTRIBUTES.md; `pnpm attributes:gen` writes it, `scripts/check-attributes.mjs` compares.
import { renderAttributeTable } from './table.js';

process.stdout.write(renderAttributeTable());
