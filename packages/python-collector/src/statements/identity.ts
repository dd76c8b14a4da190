import { ATTR, ATTRIBUTE_SPECS } from '@voicetrace/conventions';
import { attr, resourceAttr, set, spanNameIs, str, where } from '../ottl.js';
import { AGENT_LABEL, PYTHON_SPAN_STAGE, SESSION_ID_SOURCES } from '../sdk-shape.js';
import type { StatementGroup } from './group.js';

/** The span names whose stage carries `gen_ai.conversation.id`, read from its spec's stages. */
function conversationSpans(): string[] {
  const stages = ATTRIBUTE_SPECS.find((spec) => spec.key === ATTR.CONVERSATION_ID)!.stages;
  return Object.entries(PYTHON_SPAN_STAGE)
    .filter(([, stage]) => stages.includes(stage))
    .map(([name]) => name);
}

/**
 * "One call is one story": the session id, the environment and the agent on every span, and the
 * provider spelled as every stage and price spells it (lower case).
 */
export function identityGroup(): StatementGroup {
  const sessionId = attr(ATTR.SESSION_ID);
  return {
    comment: 'identity on every span: session id (SDK metadata, else its conversation id or job stamp), environment, agent, provider in lower case',
    statements: [
      ...SESSION_ID_SOURCES.map((source) => where(set(sessionId, attr(source)), `${sessionId} == nil`, `${attr(source)} != nil`)),
      { comment: `${ATTR.CONVERSATION_ID} equals ${ATTR.SESSION_ID} on the spans of GenAI operations (its spec's stages)` },
      where(set(attr(ATTR.CONVERSATION_ID), sessionId), `${sessionId} != nil`, spanNameIs(...conversationSpans())),
      where(set(attr(ATTR.ENVIRONMENT), resourceAttr(ATTR.ENVIRONMENT)), `${attr(ATTR.ENVIRONMENT)} == nil`, `${resourceAttr(ATTR.ENVIRONMENT)} != nil`),
      where(set(attr(ATTR.AGENT_NAME), attr(AGENT_LABEL)), `${attr(ATTR.AGENT_NAME)} == nil`, `${attr(AGENT_LABEL)} != nil`),
      where(set(attr(ATTR.PROVIDER_NAME), `ToLowerCase(${attr(ATTR.PROVIDER_NAME)})`), `IsString(${attr(ATTR.PROVIDER_NAME)})`),
    ],
  };
}

/** `voicetrace.stage` from the span name. */
export function stageGroup(): StatementGroup {
  return {
    comment: `${ATTR.STAGE} from the span name (SDK_SPAN_STAGE of @voicetrace/conventions, plus the Python SDK's update_agent and eou_wait)`,
    statements: Object.entries(PYTHON_SPAN_STAGE).map(([name, stage]) => where(set(attr(ATTR.STAGE), str(stage)), `span.name == ${str(name)}`)),
  };
}
