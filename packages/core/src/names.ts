/**
 * The names a process sees over and over (providers, models, their pairs), one string each. A name
 * parsed from a metric's JSON is a new string every time, and the session model keeps the one of
 * every step to the call's end: 13 copies of `gpt-4o-mini` per 10-turn call. Bounded: past
 * MAX_NAMES distinct names (or a name longer than MAX_LENGTH, not a name), a name is kept as it came.
 */
const names = new Map<string, string>();
const MAX_NAMES = 1024;
const MAX_LENGTH = 128;

/** `name`, or the equal string seen first. */
export function sharedName(name: string): string {
  const seen = names.get(name);
  if (seen !== undefined) return seen;
  if (names.size < MAX_NAMES && name.length <= MAX_LENGTH) names.set(name, name);
  return name;
}
