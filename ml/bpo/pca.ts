// 2-D PCA by power iteration with deflation, for the cluster plot. Pure and
// deterministic (fixed start vector).
import { dot, mean } from './vec.js';

export function pca2(points: ArrayLike<number>[], iters = 100): { x: number; y: number }[] {
  if (points.length === 0) return [];
  const mu = mean(points);
  const d = mu.length;
  const X = points.map((p) => Float64Array.from({ length: d }, (_, j) => p[j]! - mu[j]!));
  const comps: Float64Array[] = [];
  for (let c = 0; c < 2; c++) {
    let v = Float64Array.from({ length: d }, (_, j) => 1 / Math.sqrt(d) + (j === c ? 1 : 0));
    for (let it = 0; it < iters; it++) {
      const next = new Float64Array(d);
      for (const x of X) {
        const s = dot(x, v);
        for (let j = 0; j < d; j++) next[j]! += s * x[j]!;
      }
      for (const u of comps) {
        const s = dot(next, u);
        for (let j = 0; j < d; j++) next[j]! -= s * u[j]!;
      }
      const n = Math.sqrt(dot(next, next));
      if (n === 0) break;
      for (let j = 0; j < d; j++) next[j]! /= n;
      v = next;
    }
    comps.push(v);
  }
  return X.map((x) => ({ x: dot(x, comps[0]!), y: dot(x, comps[1]!) }));
}
