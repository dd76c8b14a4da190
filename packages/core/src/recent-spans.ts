/**
 * What the engine remembers of its `capacity` newest spans: the turn each started in, and the
 * speech of those that ended with one. One map of span id to a slot of a ring: setting a new span
 * past the capacity forgets the oldest, and allocates nothing (a `Map`'s own first key needs an
 * iterator per call). One map, not one per figure: a `Map` of 64 keys keeps a table of 128 entries
 * (3.5 KiB), where the figures themselves take a few hundred bytes.
 */
export class RecentSpans {
  private readonly slotOf = new Map<string, number>();
  private readonly ids: Array<string | undefined>;
  /** The turn of each slot's span, -1 when unknown. */
  private readonly turns: Int32Array;
  private readonly speech: Array<string | undefined>;
  private next = 0;

  constructor(private readonly capacity: number) {
    this.ids = new Array<string | undefined>(capacity).fill(undefined);
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
    const slot = this.slotOf.get(spanId);
    const turn = slot === undefined ? -1 : this.turns[slot]!;
    return turn >= 0 ? turn : undefined;
  }

  speechOf(spanId: string): string | undefined {
    const slot = this.slotOf.get(spanId);
    return slot === undefined ? undefined : this.speech[slot];
  }

  get size(): number {
    return this.slotOf.size;
  }

  /** The span's slot: its own, else the oldest one's, emptied. */
  private slot(spanId: string): number {
    const held = this.slotOf.get(spanId);
    if (held !== undefined) return held;
    const slot = this.next;
    const oldest = this.ids[slot];
    if (oldest !== undefined) this.slotOf.delete(oldest);
    this.ids[slot] = spanId;
    this.turns[slot] = -1;
    this.speech[slot] = undefined;
    this.slotOf.set(spanId, slot);
    this.next = (slot + 1) % this.capacity;
    return slot;
  }
}
