import { repoRoot } from '@voicetrace/test-backends';
import { join } from 'node:path';

/** The generated overlay. */
export const OVERLAY_PATH = join(repoRoot(), 'collector-config', 'overlays', 'python-agents.yaml');
/** The Python example (agent, scripted call, scripted providers). */
export const PYTHON_AGENT_DIR = join(repoRoot(), 'examples', 'python-agent');
/** The pinned requirements of the example (and of the tests' virtual environment). */
export const REQUIREMENTS_PATH = join(PYTHON_AGENT_DIR, 'requirements.txt');
/** Captured spans of a real Python AgentSession (scripts/capture-fixtures.mjs). */
export const FIXTURE_PATH = join(repoRoot(), 'packages', 'python-collector', 'fixtures', 'livekit-agents-1.8.9.otlp.json');
