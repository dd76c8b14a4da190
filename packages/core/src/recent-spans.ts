/**
 * What the engine remembers of its `capacity` newest spans: the turn each started in, and the
 * speech of those that ended with one. A ring of slots: setting a new span past the capacity
 * forgets the oldest, and allocates nothing. A span is found by a scan of the slots from the newest
 * back (the span asked for is mostly a recent parent; a new span is a whole scan, about 0.1 µs).
 * An OTel span id (16 hex digits) is held as two numbers of 32 bits, unboxed in one array of
 * doubles: 1 KiB for 64 spans, where the ids as strings and a hash of each took 3 KiB per call
 * (and a `Map` 3.5 KiB more). Any other id is kept as its string.
 */
export class RecentSpans {
  /** Each slot's id as two 32-bit halves (high, low); NaN for an empty slot or an id that is not 16 hex digits. */
  private readonly words: number[];
  /** Ids that are not 16 hex digits, by slot: made at the first such id (OTel's ids always are). */
  private odd: Array<string | undefined> | undefined;
  /** The turn of each slot's span, -1 when unknown. */
  private readonly turns: Int32Array;
  private readonly speech: Array<string | undefined>;
  private next = 0;

  constructor(private readonly capacity: number) {
    this.words = new Array<number>(2 * capacity).fill(Number.NaN);
    this.speech = new Array<string | undefined>(capacity).fill(undefined);
    this.turns = new Int32Array(capacity).fill(-1);
  }

  /** The span started in `turnIndex`. */
  noteTurn(spanId: string, turnIndex: number): void {
    this.turns[this.slot(spanId)] = Number.isInteger(turnIndex) && turnIndex >= 0 ? turnIndex : -1;
  }

  /** The span ended as part of `speechId`, for its children that end after it. */
  noteSpeech(spanId: string, speechId: string): void {
    this.speech[this.slot(spanId)] = speechId;
  }

  turnOf(spanId: string): number | undefined {
    const slot = this.find(spanId);
    const turn = slot < 0 ? -1 : this.turns[slot]!;
    return turn >= 0 ? turn : undefined;
  }

  speechOf(spanId: string): string | undefined {
    const slot = this.find(spanId);
    return slot < 0 ? undefined : this.speech[slot];
  }

  get size(): number {
    let size = 0;
    for (let slot = 0; slot < this.capacity; slot++) if (!Number.isNaN(this.words[2 * slot]) || this.odd?.[slot] !== undefined) size++;
    return size;
  }

  /** The span's slot, -1 when not remembered. */
  private find(spanId: string, high = hexWord(spanId, 0), low = hexWord(spanId, 8)): number {
    const hex = !Number.isNaN(high + low);
    if (!hex && !this.odd) return -1;
    for (let n = 1, slot = this.next; n <= this.capacity; n++) {
      slot = slot === 0 ? this.capacity - 1 : slot - 1;
      if (hex ? this.words[2 * slot + 1] === low && this.words[2 * slot] === high : this.odd![slot] === spanId) return slot;
    }
    return -1;
  }

  /** The span's slot: its own, else the oldest one's, emptied. */
  private slot(spanId: string): number {
    const high = hexWord(spanId, 0);
    const low = hexWord(spanId, 8);
    const held = this.find(spanId, high, low);
    if (held >= 0) return held;
    const slot = this.next;
    const hex = !Number.isNaN(high + low);
    this.words[2 * slot] = hex ? high : Number.NaN;
    this.words[2 * slot + 1] = hex ? low : Number.NaN;
    if (!hex) this.odd ??= new Array<string | undefined>(this.capacity).fill(undefined);
    if (this.odd) this.odd[slot] = hex ? undefined : spanId;
    this.turns[slot] = -1;
    this.speech[slot] = undefined;
    this.next = (slot + 1) % this.capacity;
    return slot;
  }
}

/** The 8 lowercase hex digits of an OTel id (16 of them) from `from`, as a number below 2^32; NaN for any other id. */
function hexWord(id: string, from: number): number {
  if (id.length !== 16) return Number.NaN;
  let word = 0;
  for (let i = from; i < from + 8; i++) {
    const c = id.charCodeAt(i);
    const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (digit < 0) return Number.NaN;
    word = word * 16 + digit;
  }
  return word;
}
