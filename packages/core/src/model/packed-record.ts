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
 * (`undefined` values kept), same values (-0 and NaN included). Anything else (a class instance,
 * a Map, a sparse array, a symbol, a bigint) makes {@link packRecord} return undefined: the caller
 * keeps the record as it is.
 */
export interface PackedRecord {
  /** The layout: one character per value or key (see OP). Interned: records of one layout share it. */
  readonly layout: string;
  readonly numbers: readonly number[];
  readonly strings: readonly string[];
}

/** The layout's characters: values, and the brackets of objects and arrays; keys are KEY_BASE + their id. */
const OP = { number: 0, string: 1, true: 2, false: 3, undefined: 4, null: 5, object: 6, array: 7, end: 8 } as const;
const KEY_BASE = 16;
/** Distinct keys the process may name (the layout is a two-byte string): past it, records stay unpacked. */
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
export function packRecord(value: unknown): PackedRecord | undefined {
  const ops: number[] = [];
  const numbers: number[] = [];
  const strings: string[] = [];
  try {
    write(value, ops, numbers, strings, 0);
  } catch (error) {
    if (error instanceof NotPackable) return undefined;
    throw error;
  }
  let text = '';
  for (let i = 0; i < ops.length; i += 8192) text += String.fromCharCode(...ops.slice(i, i + 8192));
  let layout = layouts.get(text);
  if (layout === undefined) {
    layout = text;
    if (layouts.size < MAX_INTERNED_LAYOUTS) layouts.set(text, text);
  }
  // fitted copies: a pushed-to array keeps spare slots
  return { layout, numbers: numbers.length ? numbers.slice() : NONE, strings: strings.length ? strings.slice() : NONE };
}

/** A new record equal to the one packed. */
export function unpackRecord(packed: PackedRecord): unknown {
  const reader = { at: 0, number: 0, string: 0 };
  return read(packed, reader);
}

function write(value: unknown, ops: number[], numbers: number[], strings: string[], depth: number): void {
  switch (typeof value) {
    case 'number':
      ops.push(OP.number);
      numbers.push(value);
      return;
    case 'string':
      ops.push(OP.string);
      strings.push(value);
      return;
    case 'boolean':
      ops.push(value ? OP.true : OP.false);
      return;
    case 'undefined':
      ops.push(OP.undefined);
      return;
    case 'object':
      if (value === null) ops.push(OP.null);
      else if (depth >= MAX_DEPTH) throw new NotPackable();
      else if (Array.isArray(value)) writeArray(value, ops, numbers, strings, depth + 1);
      else writeObject(value, ops, numbers, strings, depth + 1);
      return;
    default:
      throw new NotPackable();
  }
}

function writeArray(value: readonly unknown[], ops: number[], numbers: number[], strings: string[], depth: number): void {
  if (Object.getPrototypeOf(value) !== Array.prototype) throw new NotPackable();
  ops.push(OP.array);
  for (let i = 0; i < value.length; i++) {
    // a hole would come back as undefined
    if (!(i in value)) throw new NotPackable();
    write(value[i], ops, numbers, strings, depth);
  }
  ops.push(OP.end);
}

function writeObject(value: object, ops: number[], numbers: number[], strings: string[], depth: number): void {
  if (Object.getPrototypeOf(value) !== Object.prototype || Object.getOwnPropertySymbols(value).length) throw new NotPackable();
  ops.push(OP.object);
  for (const key of Object.keys(value)) {
    const descriptor = Object.getOwnPropertyDescriptor(value, key)!;
    if (!('value' in descriptor)) throw new NotPackable();
    ops.push(KEY_BASE + keyId(key));
    write(descriptor.value, ops, numbers, strings, depth);
  }
  ops.push(OP.end);
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
  string: number;
}

function read(packed: PackedRecord, r: Reader): unknown {
  const op = packed.layout.charCodeAt(r.at++);
  switch (op) {
    case OP.number:
      return packed.numbers[r.number++];
    case OP.string:
      return packed.strings[r.string++];
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
