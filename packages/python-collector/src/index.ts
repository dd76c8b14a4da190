/**
 * @voicetrace/python-collector: the Collector overlay that turns Python livekit-agents traces into
 * voicetrace's shape, generated from @voicetrace/conventions and the price table.
 */
export { renderOverlay, statementGroups, PROCESSOR, TRACES_PROCESSORS, PYTHON_AGENT_SPANS } from './overlay.js';
export { PYTHON_SPAN_STAGE, SUPPORTED_SDK_VERSIONS, PYTHON_SCOPE, LLM_METRICS, TTS_METRICS, COPIES, PLAIN_SPANS } from './sdk-shape.js';
export { OVERLAY_PATH, FIXTURE_PATH, PYTHON_AGENT_DIR, REQUIREMENTS_PATH } from './paths.js';
export type { StatementGroup } from './statements/group.js';
