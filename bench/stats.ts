// Summary statistics for benchmark tables: mean and sample standard deviation over seeds.

/** [mean, sample std] of the finite values; [NaN, NaN] when there are none, std 0 for one value. */
export function meanStd(values: readonly number[]): [number, number] {
  const xs = values.filter((x) => Number.isFinite(x));
  if (xs.length === 0) return [NaN, NaN];
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (xs.length === 1) return [mean, 0];
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return [mean, Math.sqrt(variance)];
}

/** "m ± s" with `digits` decimals, or "n/a" when there was nothing to average. */
export function formatMeanStd([mean, std]: [number, number], digits = 3): string {
  return Number.isFinite(mean) ? `${mean.toFixed(digits)} ± ${std.toFixed(digits)}` : 'n/a';
}
