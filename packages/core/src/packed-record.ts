/**
 * A plain record (objects, arrays, numbers, strings, booleans, null, undefined) held compactly:
 * its numbers in one array of doubles, its strings in one array, and its layout (keys, nesting,
 * the other values) as one string shared by every record of the same layout.
 *
 * Why: a call keeps its settled turns to its end, and as objects they cost about 3.5 KiB each.
 * Node 20 has no pointer compression: every number in an object is a 16-byte heap number behind
 * an 8-byte slot, and each small object or array has its own header. Packed, a number costs
 * 8 bytes, a string reference 8 bytes, and the layout nothing once a call has seen it.
 *
 * {@link unpackRecord} gives back a new record equal to the original: same keys in the same order
 * (`undefined` values kept), same values (-0 and NaN included); like structuredClone, it reads an
 * object's own enumerable string keys. Anything else (a class instance, a Map, a sparse array, a
 * symbol or bigint value, a function) makes {@link packRecord} return undefined: the caller
 * keeps the record as it is; or, with `opaque`, is kept by reference and given back as it is (for
 * records nobody changes, such as the SDK's events and the chat messages they carry).
 */
export interface PackedRecord {
  /** The layout: one character per value or key (see OP). Interned: records of one layout share it. */
  readonly layout: string;
  readonly numbers: readonly number[];
  /** Its strings, and with `opaque` the values kept by reference, in the order the layout reads them. */
  readonly refs: readonly unknown[];
}

/** Options of {@link packRecord}. */
export interface PackOptions {
  /** Keep what is not plain data (a class instance, a Map, an Error...) by reference instead of refusing the record. */
  opaque?: boolean | undefined;
  /**
   * With `opaque`: objects and arrays this deep or deeper (the record is depth 0, its fields or
   * items 1) are kept by reference too, plain or not: what a record points at but does not own.
   */
  referencesFrom?: number | undefined;
}

/** The layout's characters: values, and the brackets of objects and arrays; keys are KEY_BASE + their id. */
const OP = { number: 0, ref: 1, true: 2, false: 3, undefined: 4, null: 5, object: 6, array: 7, end: 8, name: 9 } as const;
const KEY_BASE = 16;
/** Distinct keys and known strings the process may name (the layout is a two-byte string): past it, records stay unpacked. */
const MAX_KEYS = 0xffff - KEY_BASE;
/** Nesting deeper than this (a cycle, or not a record) is not packed. */
const MAX_DEPTH = 32;
/** Layouts interned: a record's layout depends only on its shape, and a call's turns have a handful. */
const MAX_INTERNED_LAYOUTS = 4096;

const keyIds = new Map<string, number>();
const keyNames: string[] = [];
const layouts = new Map<string, string>();
const NONE: readonly never[] = [];

class NotPackable extends Error {}

/** `value` packed, or undefined when it holds something other than plain data. */
export function packRecord(value: unknown, options: PackOptions = {}): PackedRecord | undefined {
  const opaque = options.opaque === true;
  const out: Output = { ops: [], numbers: [], refs: [], opaque, referencesFrom: opaque ? (options.referencesFrom ?? Infinity) : Infinity };
  try {
    write(value, out, 0);
  } catch (error) {
    if (error instanceof NotPackable) return undefined;
    throw error;
  }
  const { ops, numbers, refs } = out;
  let text = '';
  for (let i = 0; i < ops.length; i += 8192) text += String.fromCharCode(...ops.slice(i, i + 8192));
  let layout = layouts.get(text);
  if (layout === undefined) {
    layout = text;
    if (layouts.size < MAX_INTERNED_LAYOUTS) layouts.set(text, text);
  }
  // fitted copies: a pushed-to array keeps spare slots
  return { layout, numbers: numbers.length ? numbers.slice() : NONE, refs: refs.length ? refs.slice() : NONE };
}

/** A new record equal to the one packed. */
export function unpackRecord(packed: PackedRecord): unknown {
  const reader = { at: 0, number: 0, ref: 0 };
  return read(packed, reader);
}

interface Output {
  ops: number[];
  numbers: number[];
  refs: unknown[];
  opaque: boolean;
  referencesFrom: number;
}

function write(value: unknown, out: Output, depth: number): void {
  switch (typeof value) {
    case 'number':
      out.ops.push(OP.number);
      out.numbers.push(value);
      return;
    case 'string': {
      // a name the process knows (a key, or a string of knownStrings) goes in the layout
      const id = keyIds.get(value);
      if (id === undefined) {
        out.ops.push(OP.ref);
        out.refs.push(value);
      } else out.ops.push(OP.name, KEY_BASE + id);
      return;
    }
    case 'boolean':
      out.ops.push(value ? OP.true : OP.false);
      return;
    case 'undefined':
      out.ops.push(OP.undefined);
      return;
    case 'object':
      if (value === null) out.ops.push(OP.null);
      else if (depth >= out.referencesFrom) writeOpaque(value, out);
      else if (depth >= MAX_DEPTH) throw new NotPackable();
      else if (Array.isArray(value) && isPlainArray(value)) writeArray(value, out, depth + 1);
      else if (!Array.isArray(value) && isPlainObject(value)) writeObject(value, out, depth + 1);
      else writeOpaque(value, out);
      return;
    default:
      writeOpaque(value, out);
  }
}

function writeOpaque(value: unknown, out: Output): void {
  if (!out.opaque) throw new NotPackable();
  out.ops.push(OP.ref);
  out.refs.push(value);
}

/** An array with its own prototype and no holes (a hole would come back as undefined). */
function isPlainArray(value: readonly unknown[]): boolean {
  if (Object.getPrototypeOf(value) !== Array.prototype) return false;
  for (let i = 0; i < value.length; i++) if (!(i in value)) return false;
  return true;
}

/**
 * An object literal's kind: Object's prototype. Its own enumerable string keys are its record (an
 * accessor read for its value, a symbol key left out), as structuredClone, the snapshot's copy
 * before, reads an object.
 */
function isPlainObject(value: object): boolean {
  return Object.getPrototypeOf(value) === Object.prototype;
}

function writeArray(value: readonly unknown[], out: Output, depth: number): void {
  out.ops.push(OP.array);
  for (const item of value) write(item, out, depth);
  out.ops.push(OP.end);
}

function writeObject(value: object, out: Output, depth: number): void {
  out.ops.push(OP.object);
  for (const key of Object.keys(value)) {
    out.ops.push(KEY_BASE + keyId(key));
    write((value as Record<string, unknown>)[key], out, depth);
  }
  out.ops.push(OP.end);
}

/**
 * Strings most records hold (the names of the conventions: wait keys and owners, metric kinds): a
 * packed record names them in its layout instead of holding a reference (8 bytes each).
 */
export function knownStrings(values: Iterable<string>): void {
  try {
    for (const value of values) keyId(value);
  } catch (error) {
    if (!(error instanceof NotPackable)) throw error;
  }
}

function keyId(key: string): number {
  let id = keyIds.get(key);
  if (id === undefined) {
    if (keyNames.length >= MAX_KEYS) throw new NotPackable();
    id = keyNames.length;
    keyIds.set(key, id);
    keyNames.push(key);
  }
  return id;
}

interface Reader {
  at: number;
  number: number;
  ref: number;
}

function read(packed: PackedRecord, r: Reader): unknown {
  const op = packed.layout.charCodeAt(r.at++);
  switch (op) {
    case OP.number:
      return packed.numbers[r.number++];
    case OP.ref:
      return packed.refs[r.ref++];
    case OP.name:
      return keyNames[packed.layout.charCodeAt(r.at++) - KEY_BASE];
    case OP.true:
      return true;
    case OP.false:
      return false;
    case OP.undefined:
      return undefined;
    case OP.null:
      return null;
    case OP.array: {
      const out: unknown[] = [];
      while (packed.layout.charCodeAt(r.at) !== OP.end) out.push(read(packed, r));
      r.at++;
      return out;
    }
    case OP.object: {
      const out: Record<string, unknown> = {};
      for (let code = packed.layout.charCodeAt(r.at); code !== OP.end; code = packed.layout.charCodeAt(r.at)) {
        r.at++;
        const key = keyNames[code - KEY_BASE]!;
        const value = read(packed, r);
        // a key named __proto__ is defined, not assigned: an own property, as it was
        if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
        else out[key] = value;
      }
      r.at++;
      return out;
    }
    default:
      throw new Error(`packed record: bad layout character ${op}`);
  }
}
