/**
 * Small builders for OTTL text (span context, Collector v0.161 path syntax), so the generated
 * statements are assembled from names, never typed by hand.
 */

/** An OTTL string literal (OTTL strings take JSON's escapes). */
export function str(value: string): string {
  return JSON.stringify(value);
}

/** An OTTL float literal: always with a decimal point, so the math stays in float64. */
export function float(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`ottl: not a finite number: ${value}`);
  const text = String(value);
  if (/e/i.test(text)) throw new Error(`ottl: ${value} would print in exponent notation; OTTL has no such literal`);
  return text.includes('.') ? text : `${text}.0`;
}

/** `span.attributes["key"]`. */
export function attr(key: string): string {
  return `span.attributes[${str(key)}]`;
}

/** `span.cache["key"]` (a per-span scratch map, gone after the transform), optionally indexed further. */
export function cache(key: string, ...path: string[]): string {
  return `span.cache[${str(key)}]${path.map((p) => `[${str(p)}]`).join('')}`;
}

/** `resource.attributes["key"]`. */
export function resourceAttr(key: string): string {
  return `resource.attributes[${str(key)}]`;
}

/** `span.name == "name"`, or one of several names. */
export function spanNameIs(...names: string[]): string {
  const clauses = names.map((name) => `span.name == ${str(name)}`);
  return clauses.length === 1 ? clauses[0]! : `(${clauses.join(' or ')})`;
}

/** A statement with its `where` clause (the clauses are ANDed). */
export function where(statement: string, ...clauses: string[]): string {
  const condition = clauses.filter(Boolean).join(' and ');
  return condition ? `${statement} where ${condition}` : statement;
}

/** `set(target, value)`. */
export function set(target: string, value: string): string {
  return `set(${target}, ${value})`;
}
