/**
 * What the engine remembers of its `capacity` newest spans: the turn each started in, and the
 * speech of those that ended with one. A ring of slots: setting a new span past the capacity
 * forgets the oldest, and allocates nothing. A span is found by a scan of the slots' id hashes from
 * the newest back (the span asked for is mostly a recent parent; a new span is a whole scan, about
 * 0.1 µs): no map, since a `Map` of 64 keys keeps a table of 128 entries (3.5 KiB per call), where
 * the figures themselves take a few hundred bytes.
 */
export class RecentSpans {
  private readonly ids: Array<string | undefined>;
  /** Each slot's id hash (see idHash), compared before the id. Small integers: held unboxed. */
  private readonly hashes: number[];
  /** The turn of each slot's span, -1 when unknown. */
  private readonly turns: Int32Array;
  private readonly speech: Array<string | undefined>;
  private next = 0;

  constructor(private readonly capacity: number) {
    this.ids = new Array<string | undefined>(capacity).fill(undefined);
    this.hashes = new Array<number>(capacity).fill(0);
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
    for (const id of this.ids) if (id !== undefined) size++;
    return size;
  }

  /** The span's slot, -1 when not remembered. */
  private find(spanId: string, hash = idHash(spanId)): number {
    for (let n = 1, slot = this.next; n <= this.capacity; n++) {
      slot = slot === 0 ? this.capacity - 1 : slot - 1;
      if (this.hashes[slot] === hash && this.ids[slot] === spanId) return slot;
    }
    return -1;
  }

  /** The span's slot: its own, else the oldest one's, emptied. */
  private slot(spanId: string): number {
    const hash = idHash(spanId);
    const held = this.find(spanId, hash);
    if (held >= 0) return held;
    const slot = this.next;
    this.ids[slot] = spanId;
    this.hashes[slot] = hash;
    this.turns[slot] = -1;
    this.speech[slot] = undefined;
    this.next = (slot + 1) % this.capacity;
    return slot;
  }
}

/** A span id's last 7 characters folded into 28 bits (random hex: as good as a full hash), a small integer. */
function idHash(spanId: string): number {
  let hash = 0;
  for (let i = Math.max(0, spanId.length - 7); i < spanId.length; i++) hash = (hash << 4) ^ spanId.charCodeAt(i);
  return hash & 0xfffffff;
}
