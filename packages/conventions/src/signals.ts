/**
 * Conversation quality signals: what says a call went badly, computed once in the session model
 * from its timestamps and transcripts (no LLM), and read by every view (spans, metrics, report,
 * summarize). Each has a definition, a unit, its threshold with the default and why, and the
 * signals it necessarily comes with.
 */
export interface SignalSpec {
  /** Name in attributes, metrics (`signal` dimension), report.json and the CLI. */
  name: string;
  /** `s`: the signal has a size in seconds (summed per call); `1`: it is a flag. */
  unit: 's' | '1';
  /** What fires it, precisely. */
  definition: string;
  /** The threshold option (a `SignalThresholds` key), its default and why. */
  threshold?: { option: keyof SignalThresholds; default: number; unit: 's' | 'ratio'; reason: string };
  /** Signals that necessarily fire with this one (not a false positive when both show). */
  comesWith?: readonly string[];
}

/** Thresholds of the signals (seconds, or a 0..1 similarity). */
export interface SignalThresholds {
  /** A reply wait above this is dead air (seconds). */
  deadAirSeconds: number;
  /** A stop in the agent's audio inside a reply longer than this is dead air (seconds). */
  playoutGapSeconds: number;
  /** The latency target: a reply wait above it is a slow turn (seconds). */
  latencyTargetSeconds: number;
  /** The user speaking again within this long of the end-of-turn decision, before the reply played out, is a cut-off (seconds). */
  cutOffWindowSeconds: number;
  /** User speech with no words transcribed from its start until this long after its end was missed (seconds). */
  transcriptWaitSeconds: number;
  /** Normalized word similarity at or above which two utterances are "nearly the same" (0..1). */
  repeatSimilarity: number;
  /** How many earlier turns a repetition is looked for in. */
  repeatLookback: number;
}

export const DEFAULT_SIGNAL_THRESHOLDS: Readonly<SignalThresholds> = Object.freeze({
  deadAirSeconds: 2,
  playoutGapSeconds: 0.5,
  latencyTargetSeconds: 1.5,
  cutOffWindowSeconds: 1.5,
  transcriptWaitSeconds: 2,
  repeatSimilarity: 0.8,
  repeatLookback: 3,
});

export const SIGNALS = [
  {
    name: 'dead_air',
    unit: 's',
    definition:
      'The user waits and nobody speaks, past a threshold. In the wait (`where: wait`): the part of a reply\'s wait (end of user speech to its first audio, e2e) beyond `deadAirSeconds`. Inside a reply (`where: reply`): the agent\'s audio stopped between two stretches of the same reply (the audio output ran dry because the next TTS audio came late) for longer than `playoutGapSeconds`; the whole stop is its size, since a reply\'s natural pauses are inside its audio. Stops while the user spoke (a paused reply) are not dead air. Read from the audio output\'s played stretches (`playbackProgressed`, which LiveKit\'s room output reports); an output that reports none shows no gaps. Seconds per turn, summed per call.',
    threshold: { option: 'deadAirSeconds', default: 2, unit: 's', reason: 'Human turn-taking gaps are about 0.2 s; past about 2 s callers start asking "hello?" or hang up, which is where voice QA tools place dead air. Inside a reply, `playoutGapSeconds` (default 0.5 s): a stop adds to the sentence pause already in the audio (about 0.3 s), and past half a second the pause is double a natural one and the agent sounds stuck.' },
    comesWith: ['slow_turn'],
  },
  {
    name: 'slow_turn',
    unit: '1',
    definition: 'A reply\'s wait (e2e) above the latency target, the same target the LangFuse scores use (`voice.turn.latency_target_met`).',
    threshold: { option: 'latencyTargetSeconds', default: 1.5, unit: 's', reason: 'The LangFuse scores\' target (VOICETRACE_LATENCY_TARGET_SECONDS, default 1.5 s): one target, every view.' },
  },
  {
    name: 'talk_over_user',
    unit: 's',
    definition: 'User over agent: seconds the user spoke while the agent was speaking (a barge-in\'s overlap, or a sound that did not stop the agent).',
  },
  {
    name: 'talk_over_agent',
    unit: 's',
    definition: 'Agent over user: the agent started speaking while the user was still speaking; seconds from the agent\'s start to the user\'s end of speech.',
  },
  {
    name: 'cut_off',
    unit: '1',
    definition:
      'Early end of turn: the user started speaking again within `cutOffWindowSeconds` of the end-of-turn decision, before the agent began its reply\'s audio: their turn was not over (the reply is then usually cancelled; if it plays while they speak, that is talk_over_agent too). Speech after the audio began is a barge-in (talk_over_user), not a cut-off.',
    threshold: { option: 'cutOffWindowSeconds', default: 1.5, unit: 's', reason: 'A user who resumes within about a second and a half of being judged done was mid-thought (a pause, not an end); later speech is a new turn.' },
    comesWith: ['talk_over_agent'],
  },
  {
    name: 'backchannel',
    unit: '1',
    definition: 'User speech during the agent\'s speech that did not stop it (an "uh-huh", a cough): a false interruption if the agent had stopped.',
    comesWith: ['talk_over_user'],
  },
  {
    name: 'repeated_user_request',
    unit: '1',
    definition:
      'The user said nearly the same thing as in one of their last `repeatLookback` turns (normalized word similarity at or above `repeatSimilarity`). Computed in the process even when PII export is off: only the flag and the turn it repeats leave it.',
    threshold: { option: 'repeatSimilarity', default: 0.8, unit: 'ratio', reason: 'Word-level similarity of normalized text (lower case, no punctuation); 0.8 tolerates an STT slip or a filler word, not a different question.' },
  },
  {
    name: 'agent_repetition',
    unit: '1',
    definition: 'The agent said nearly the same reply as one of its last `repeatLookback` replies (same similarity rule).',
    threshold: { option: 'repeatSimilarity', default: 0.8, unit: 'ratio', reason: 'As for repeated_user_request.' },
  },
  {
    name: 'missed_speech',
    unit: '1',
    definition:
      'The user spoke (the VAD heard speech) and no words came of it: the turn got no final transcript or an empty one, or a stretch of their speech while the agent was silent got no transcript (interim or final) from its start until `transcriptWaitSeconds` after its end (a mumble the STT dropped before the words it did hear). At most once per turn.',
    threshold: { option: 'transcriptWaitSeconds', default: 2, unit: 's', reason: 'A streaming STT sends interim words during speech and its final within about a second of the end of speech; a batch STT behind the VAD answers within about 1.5 s. Two seconds leaves margin, so a slow transcript is not taken for a missed one.' },
  },
  {
    name: 'abandonment',
    unit: '1',
    definition: 'The call ended while the user was waiting for a reply (their turn ended, no reply played) or while the agent was speaking.',
  },
  {
    name: 'error_turn',
    unit: '1',
    definition: 'A provider error or a failed tool call inside the turn (the errors of COUNT_DEFINITIONS, by turn).',
  },
] as const satisfies readonly SignalSpec[];

export type SignalName = (typeof SIGNALS)[number]['name'];

export const SIGNAL_NAMES: readonly SignalName[] = SIGNALS.map((s) => s.name);
