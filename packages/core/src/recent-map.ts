/**
 * A map of the `capacity` newest keys: setting a new key past it forgets the oldest. The keys'
 * order is a ring beside the map, so an eviction allocates nothing (a `Map`'s own first key needs an
 * iterator per call), and the map's table stays at twice the capacity (V8 doubles a full table
 * unless half of it is holes).
 */
export class RecentMap<V> {
  private readonly map = new Map<string, V>();
  private readonly order: Array<string | undefined>;
  private next = 0;

  constructor(private readonly capacity: number) {
    this.order = new Array<string | undefined>(capacity).fill(undefined);
  }

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  set(key: string, value: V): void {
    if (!this.map.has(key)) {
      const oldest = this.order[this.next];
      if (oldest !== undefined) this.map.delete(oldest);
      this.order[this.next] = key;
      this.next = (this.next + 1) % this.capacity;
    }
    this.map.set(key, value);
  }

  get size(): number {
    return this.map.size;
  }
}
