/**
 * LangFuse is configured halfway (a key without the other, or a URL without keys) or with an unusable
 * URL. Thrown once, at setup: the only place this package throws.
 */
export class LangfuseConfigError extends Error {
  override readonly name = 'LangfuseConfigError';

  /**
   * @param message what is wrong and how to fix it
   * @param missing the variables that must be set and are not
   * @param invalid the variables whose value cannot be used
   */
  constructor(
    message: string,
    readonly missing: readonly string[],
    readonly invalid: readonly string[] = [],
  ) {
    super(message);
  }
}
