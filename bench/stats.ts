// Statistics for benchmark tables (pure): mean ± sample std over seeds, and a paired sign-flip
// permutation test on per-prompt differences.
import { Rng } from '../ml/rng.js';

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

/** A metric over seeds: the values and their mean ± sample std (what bench-results JSON records). */
export interface SeedSummary {
  perSeed: number[];
  mean: number;
  std: number;
}

export function seedSummary(perSeed: number[]): SeedSummary {
  const [mean, std] = meanStd(perSeed);
  return { perSeed, mean, std };
}

export interface PairedTest {
  /** Mean of a − b over the paired items. */
  diff: number;
  n: number;
  /** Two-sided p-value of "a and b are exchangeable" (sign flips), with the +1 correction. */
  p: number;
}

/** Paired sign-flip permutation test of a[i] vs b[i]: seeded, `rounds` random flips. */
export function pairedSignFlip(a: number[], b: number[], rounds = 10000, seed = 0): PairedTest {
  if (a.length !== b.length) throw new Error(`paired test: ${a.length} vs ${b.length} items`);
  const d = a.map((x, i) => x - b[i]!);
  const n = d.length;
  if (n === 0) return { diff: NaN, n, p: NaN };
  const observed = Math.abs(d.reduce((s, x) => s + x, 0));
  const rng = new Rng(seed);
  let atLeast = 0;
  for (let r = 0; r < rounds; r++) {
    let s = 0;
    for (const x of d) s += rng.next() < 0.5 ? -x : x;
    if (Math.abs(s) >= observed - 1e-12) atLeast++;
  }
  return { diff: d.reduce((s, x) => s + x, 0) / n, n, p: (atLeast + 1) / (rounds + 1) };
}
