// Depth allocation: share an integer budget among items in proportion to
// non-negative weights, each within [lo_i, hi_i]. Continuous water-filling
// (find λ with Σ clamp(λ·w_i, lo_i, hi_i) = budget by bisection), then
// largest-remainder rounding that keeps every bound. Pure and deterministic.
export class AllocationError extends Error {
  override name = 'AllocationError';
}

export interface AllocateInput {
  weights: number[];
  lo: number[];
  hi: number[];
  budget: number;
}

/** Returns integer depths d_i with lo_i ≤ d_i ≤ hi_i and Σd = min(budget, Σhi). Throws if Σlo > budget. */
export function allocate({ weights, lo, hi, budget }: AllocateInput): number[] {
  const n = weights.length;
  if (lo.length !== n || hi.length !== n) throw new AllocationError('weights, lo and hi must have the same length');
  for (let i = 0; i < n; i++) {
    if (!(lo[i]! >= 0) || !(hi[i]! >= lo[i]!) || !Number.isInteger(lo[i]) || !Number.isInteger(hi[i]))
      throw new AllocationError(`item ${i}: need integers 0 <= lo <= hi, got lo=${lo[i]} hi=${hi[i]}`);
    if (!(weights[i]! >= 0) || !Number.isFinite(weights[i]!))
      throw new AllocationError(`item ${i}: weight must be finite and >= 0, got ${weights[i]}`);
  }
  const sumLo = lo.reduce((a, b) => a + b, 0);
  const sumHi = hi.reduce((a, b) => a + b, 0);
  const B = Math.floor(budget);
  if (sumLo > B) throw new AllocationError(`budget ${B} is below the sum of minimum depths (${sumLo})`);
  if (sumHi <= B) return [...hi];
  // All-zero weights among the free items: share evenly.
  const w = weights.some((x, i) => x > 0 && hi[i]! > lo[i]!) ? weights : weights.map(() => 1);
  const total = (lam: number) => w.reduce((s, wi, i) => s + Math.min(hi[i]!, Math.max(lo[i]!, lam * wi)), 0);
  let a = 0;
  let b = 1;
  while (total(b) < B && b < 1e15) b *= 2;
  for (let it = 0; it < 200; it++) {
    const m = (a + b) / 2;
    if (total(m) < B) a = m;
    else b = m;
  }
  const cont = w.map((wi, i) => Math.min(hi[i]!, Math.max(lo[i]!, b * wi)));
  const out = cont.map((c, i) => Math.max(lo[i]!, Math.min(hi[i]!, Math.floor(c + 1e-9))));
  let left = B - out.reduce((s, x) => s + x, 0);
  // Hand out the remainder by largest fractional part, then larger weight, then lower index.
  const order = cont
    .map((_, i) => i)
    .sort((i, j) => cont[j]! - out[j]! - (cont[i]! - out[i]!) || w[j]! - w[i]! || i - j);
  while (left > 0) {
    let gave = false;
    for (const i of order) {
      if (left === 0) break;
      if (out[i]! < hi[i]!) {
        out[i]!++;
        left--;
        gave = true;
      }
    }
    if (!gave) break;
  }
  // Overshoot from rounding (lo bounds) cannot happen: Σfloor ≤ Σcont = B.
  return out;
}
