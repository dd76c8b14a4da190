#!/usr/bin/env node
// Prints collector-config/overlays/python-agents.yaml; `pnpm python-collector:gen` writes it,
// test/generated.test.ts compares.
import { renderOverlay } from './overlay.js';

process.stdout.write(renderOverlay());
