/**
 * `defaults` overridden by every option the caller set. An option passed as `undefined` keeps its
 * default (the option types accept `undefined` for `exactOptionalPropertyTypes` users, so a plain
 * spread would let it erase the default).
 */
export function withDefaults<T extends object>(defaults: T, options: { [K in keyof T]?: T[K] | undefined }): T {
  const merged = { ...defaults };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}
