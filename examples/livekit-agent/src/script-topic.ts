/** The text-stream topic on which the scripted caller announces what it is about to say (the scripted STT's transcript). */
export const CALLER_SCRIPT_TOPIC = 'voicetrace.caller-script';
