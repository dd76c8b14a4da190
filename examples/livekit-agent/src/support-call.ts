import type { CallerTurn } from './caller.js';

/** The support call: a tool turn, a long answer the caller cuts into, a handoff, goodbye. */
export const SUPPORT_CALL: CallerTurn[] = [
  { text: 'Hi, what is the weather like in Paris today?' },
  { text: 'Great, and what are your opening hours on Sundays?' },
  { text: 'Sorry, actually I have a question about my bill.', bargeInAfterMs: 1500 },
  { text: 'Okay thanks, that is all.' },
];
