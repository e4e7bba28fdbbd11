// Statistics for the BPO benchmark (pure): mean ± sample std, and a paired
// sign-flip permutation test on per-prompt differences.
import { Rng } from '../ml/rng.js';

export interface MeanStd {
  perSeed: number[];
  mean: number;
  std: number;
}

export function meanStd(perSeed: number[]): MeanStd {
  const n = perSeed.length;
  const mean = n ? perSeed.reduce((a, b) => a + b, 0) / n : NaN;
  const std = n > 1 ? Math.sqrt(perSeed.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
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
