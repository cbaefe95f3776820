/** The label value of everything beyond the bound. */
export const OTHER = 'other';

export interface TopValuesOptions {
  /** Values that keep their own label. */
  limit: number;
  /** How often the busiest of the other values may take the place of a quieter kept one. */
  windowMs?: number;
  now?: () => number;
}

interface Tally {
  count: number;
  /** How much of `count` may belong to values this one replaced (Space-Saving's error bound). */
  error: number;
}

/**
 * Bounds the values of a label (namespaces) so a metric has at most `limit + 1` series per other
 * label: the first `limit` values keep their own label, the rest are reported as `other`. At the end
 * of each window, an other value that had more traffic than a kept one (counted in a Space-Saving
 * summary of a few times `limit` values, so a flood of names costs bounded memory) takes its place; the
 * listeners then drop the replaced value's series. A counter thus never goes back: what a value counted
 * while it was `other` stays under `other`.
 */
export class TopValues {
  private limit: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  /** Kept values with their traffic in the current window. */
  private readonly kept = new Map<string, number>();
  /** The other values' traffic in the current window, at most `capacity` of them. */
  private readonly others = new Map<string, Tally>();
  private windowStart: number;
  private readonly dropListeners: Array<(value: string) => void> = [];

  constructor(options: TopValuesOptions) {
    this.limit = options.limit;
    this.windowMs = options.windowMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.windowStart = this.now();
  }

  /** The label of one use of `value` (counted as its traffic). */
  label(value: string): string {
    this.rotate();
    const traffic = this.kept.get(value);
    if (traffic !== undefined) {
      this.kept.set(value, traffic + 1);
      return value;
    }
    if (this.kept.size < this.limit) {
      this.kept.set(value, 1);
      this.others.delete(value);
      return value;
    }
    this.countOther(value);
    return OTHER;
  }

  /** Changes the number of kept values; beyond a smaller limit the quietest ones are dropped. */
  setLimit(limit: number): void {
    this.limit = limit;
    const quietest = [...this.kept].sort((a, b) => a[1] - b[1]);
    for (const [value] of quietest.slice(0, Math.max(0, this.kept.size - limit))) this.drop(value);
  }

  /** Called with each value that loses its own label. */
  onDrop(listener: (value: string) => void): void {
    this.dropListeners.push(listener);
  }

  private get capacity(): number {
    return Math.max(64, 4 * this.limit);
  }

  private countOther(value: string): void {
    const tally = this.others.get(value);
    if (tally) {
      tally.count++;
      return;
    }
    if (this.others.size < this.capacity) {
      this.others.set(value, { count: 1, error: 0 });
      return;
    }
    // Space-Saving: the new value takes the place of the least counted one and inherits its count as error.
    let least: [string, Tally] | undefined;
    for (const entry of this.others) if (!least || entry[1].count < least[1].count) least = entry;
    if (!least) return;
    this.others.delete(least[0]);
    this.others.set(value, { count: least[1].count + 1, error: least[1].count });
  }

  private rotate(): void {
    const now = this.now();
    if (now - this.windowStart < this.windowMs) return;
    this.windowStart = now;
    const busiest = [...this.others].map(([value, { count, error }]) => [value, count - error] as const).sort((a, b) => b[1] - a[1]);
    const quietest = [...this.kept].sort((a, b) => a[1] - b[1]);
    for (const [index, [value, traffic]] of busiest.entries()) {
      const replaced = quietest[index];
      if (!replaced || traffic <= replaced[1]) break;
      this.drop(replaced[0]);
      this.kept.set(value, 0);
    }
    for (const value of this.kept.keys()) this.kept.set(value, 0);
    this.others.clear();
  }

  private drop(value: string): void {
    this.kept.delete(value);
    for (const listener of this.dropListeners) listener(value);
  }
}

/**
 * The `limit` heaviest samples as they are, and the rest merged into one: bounds the series of gauges
 * read from the stores at each scrape (entries and bytes by tenant and namespace).
 */
export function topSamples<T>(samples: readonly T[], limit: number, weight: (sample: T) => number, merge: (rest: T[]) => T): T[] {
  if (samples.length <= limit) return [...samples];
  const sorted = [...samples].sort((a, b) => weight(b) - weight(a));
  return [...sorted.slice(0, limit), merge(sorted.slice(limit))];
}
