/**
 * Which population indices a store holds and which are still active, as the load
 * generator tracks them. Scenario 2 takes fresh tokens off the top of an interval; the
 * revoked ones stay stored (revokit marks, it does not delete), so they still count.
 */
export type Interval = [from: number, to: number];

export class Population {
  /** Tokens stored, revoked or not. */
  size = 0;
  /** Intervals of stored, still active indices. */
  active: Interval[] = [];
  /** The next index never handed out. */
  next = 0;

  /** Adds fresh indices until `size` tokens are stored; the interval to seed. */
  grow(to: number): Interval | undefined {
    if (to <= this.size) return undefined;
    const interval: Interval = [this.next, this.next + (to - this.size)];
    this.active.push([...interval]);
    this.next = interval[1];
    this.size = to;
    return interval;
  }

  /** Forgets everything (the store was purged) and holds `size` fresh tokens again. */
  refill(size: number): Interval {
    const interval: Interval = [this.next, this.next + size];
    this.active = [[...interval]];
    this.next = interval[1];
    this.size = size;
    return interval;
  }

  /** How many fresh tokens one call of {@link take} can hand out. */
  get room(): number {
    return Math.max(0, ...this.active.map(([from, to]) => to - from));
  }

  /** Takes `count` active indices in one interval; they are about to be revoked. */
  take(count: number): Interval {
    let best: Interval | undefined;
    for (const interval of this.active) {
      if (!best || interval[1] - interval[0] > best[1] - best[0]) best = interval;
    }
    if (!best || best[1] - best[0] < count) {
      throw new Error(`only ${this.room} fresh tokens are left, ${count} needed`);
    }
    const taken: Interval = [best[1] - count, best[1]];
    best[1] -= count;
    this.active = this.active.filter(([from, to]) => to > from);
    return taken;
  }

  /** `count` active indices spread over the whole population, in a shuffled order. */
  sample(count: number, seed = 1): Uint32Array {
    const total = this.active.reduce((sum, [from, to]) => sum + (to - from), 0);
    const n = Math.min(count, total);
    const out = new Uint32Array(n);
    const random = mulberry32(seed);
    for (let i = 0; i < n; i++) {
      let offset = Math.floor(random() * total);
      for (const [from, to] of this.active) {
        if (offset < to - from) {
          out[i] = from + offset;
          break;
        }
        offset -= to - from;
      }
    }
    return out;
  }
}

/** A small seeded PRNG: the same sample in every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The parts of `interval` not yet in `covered`, which is updated. */
export function uncovered(covered: Interval[], interval: Interval): Interval[] {
  const missing: Interval[] = [];
  let start = interval[0];
  for (const [from, to] of [...covered].sort((a, b) => a[0] - b[0])) {
    if (to <= start || from >= interval[1]) continue;
    if (from > start) missing.push([start, from]);
    start = Math.max(start, to);
  }
  if (start < interval[1]) missing.push([start, interval[1]]);
  covered.push(...missing);
  return missing;
}
