#!/usr/bin/env node
// Captures the spans of a real Python AgentSession (livekit-agents, pinned in
// examples/python-agent/requirements.txt) running the demo's script offline, as one OTLP/JSON
// request: fixtures/livekit-agents-<version>.otlp.json, read by test/fixtures.test.ts.
// Run after a change of the SDK version or of the scripted call:
//   npx --yes pnpm@10.34.9 exec turbo run build --filter=@voicetrace/python-collector... && node packages/python-collector/scripts/capture-fixtures.mjs
import { spawnSync } from 'node:child_process';
import { ensurePythonEnv } from '@voicetrace/test-backends';
import { FIXTURE_PATH, PYTHON_AGENT_DIR, REQUIREMENTS_PATH } from '../dist/index.js';

const env = await ensurePythonEnv(REQUIREMENTS_PATH);
if (!env.available) {
  console.error(`capture-fixtures: ${env.reason}`);
  process.exit(2);
}
const run = spawnSync(env.python, ['scripted_call.py', '--session-id', 'fixture-session', '--capture', FIXTURE_PATH], { cwd: PYTHON_AGENT_DIR, stdio: 'inherit' });
if (run.status !== 0) process.exit(run.status ?? 1);
console.log(`capture-fixtures: wrote ${FIXTURE_PATH}`);
