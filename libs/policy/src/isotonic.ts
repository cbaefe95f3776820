/** A fitted value, with the total weight and the number of the points pooled into its block. */
export interface IsotonicPoint {
  value: number;
  weight: number;
  pooled: number;
}

/**
 * Weighted least-squares fit of `values` by a non-decreasing sequence (pool adjacent violators).
 * Written here because it is a dozen lines at the heart of the estimator and no maintained package
 * offers it; each output point also carries the weight of its pooled block, which the confidence
 * bounds use as the evidence behind the value.
 */
export function isotonicIncreasing(values: readonly number[], weights: readonly number[]): IsotonicPoint[] {
  const blocks: Array<{ value: number; weight: number; length: number }> = [];
  values.forEach((value, i) => {
    blocks.push({ value, weight: weights[i] ?? 0, length: 1 });
    for (;;) {
      const last = blocks[blocks.length - 1];
      const previous = blocks[blocks.length - 2];
      if (!last || !previous || previous.value <= last.value) break;
      const weight = previous.weight + last.weight;
      previous.value =
        weight > 0 ? (previous.value * previous.weight + last.value * last.weight) / weight : (previous.value + last.value) / 2;
      previous.weight = weight;
      previous.length += last.length;
      blocks.pop();
    }
  });
  return blocks.flatMap((block) =>
    Array.from({ length: block.length }, () => ({ value: block.value, weight: block.weight, pooled: block.length })),
  );
}
