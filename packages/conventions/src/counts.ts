/**
 * What each count of a call means, defined once. The session model counts by these definitions;
 * the span view, report.json, the metrics view and `voicetrace summarize` read the model's counts
 * (never count again), so a user sees the same number wherever they look.
 */
export const COUNT_DEFINITIONS = {
  user_turn: {
    attribute: 'voicetrace.session.turns',
    meaning: 'A turn the user took: the SDK opened a user turn (speech detected) or a final transcript arrived outside one.',
  },
  reply: {
    attribute: 'voicetrace.session.agent_turns',
    meaning: 'A reply the user heard: its audio began playing (the SDK measured its e2e latency, or playout began during it). A tool step that only called tools is part of its reply, not a reply.',
  },
  interruption: {
    attribute: 'voicetrace.session.interruptions',
    meaning: 'A reply the user stopped while hearing it (a barge-in): counted once per reply, so interruptions never exceed replies. A reply stopped while the user said nothing (the call ended under it, or the agent\'s code interrupted it) is not one, though the SDK marks it interrupted.',
  },
  cancelled_reply: {
    attribute: 'voicetrace.session.cancelled_replies',
    meaning: 'A reply cut off before its first audio (the user spoke again first): neither a reply nor an interruption, since nobody heard it.',
  },
  error: {
    attribute: 'voicetrace.session.errors',
    meaning: 'A failure the SDK reported (an error event, a failed tool call, a request span ending in error), counted once however many of these carried it.',
  },
} as const;

export type CountName = keyof typeof COUNT_DEFINITIONS;
