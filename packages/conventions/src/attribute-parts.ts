/**
 * The contract between voicetrace's export copy of a span (`copySpan` in `@voicetrace/core`) and its
 * encoder and size estimate (`@voicetrace/exporters`): a copy that leaves keys out or adds some
 * carries its attributes as parts, and the encoder writes them from the parts instead of the copy
 * building a filtered object for every span. Anything else reads the copy's `attributes`, built
 * from the parts on first read. A name under `Symbol.for`, so that two installed copies of the
 * packages agree.
 */
export const ATTRIBUTE_PARTS: unique symbol = Symbol.for('voicetrace.attributeParts');

/**
 * A span's exported attributes as parts: `base` without the keys of `omit`, then `added` (a key of
 * `added` that `base` has keeps its place in `base`'s order; the others follow, in `added`'s order):
 * the keys and values of `Object.assign(baseWithoutOmitted, added)`, in its order except for keys
 * that are array indices ("0", "17"), which a JavaScript object puts first (no attribute name is one).
 */
export interface AttributeParts {
  readonly base: Readonly<Record<string, unknown>>;
  readonly omit: readonly string[] | undefined;
  readonly added: Readonly<Record<string, unknown>> | undefined;
}

/** The parts a span carries, if it carries them. */
export function attributePartsOf(span: object): AttributeParts | undefined {
  return (span as { [ATTRIBUTE_PARTS]?: AttributeParts })[ATTRIBUTE_PARTS];
}
