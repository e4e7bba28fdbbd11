// Seeded k-means++ (Arthur & Vassilvitskii 2007) followed by Lloyd iterations.
// Deterministic for a given seed and input order: ties go to the lower index.
import { Rng } from '../rng.js';
import { sqDist } from './vec.js';

export interface KMeansOptions {
  k: number;
  seed?: number;
  /** Lloyd iterations at most. Default 50. */
  maxIter?: number;
  /** Stop when no assignment changes (always) or the centroid shift is below this. Default 1e-7. */
  tol?: number;
}

export interface KMeansResult {
  k: number;
  centroids: Float64Array[];
  /** Cluster of each point. */
  assign: number[];
  /** Squared Euclidean distance of each point to its centroid. */
  dist2: number[];
  iterations: number;
  inertia: number;
}

function nearest(p: ArrayLike<number>, centroids: ArrayLike<number>[]): [number, number] {
  let best = 0;
  let bd = Infinity;
  for (let c = 0; c < centroids.length; c++) {
    const d = sqDist(p, centroids[c]!);
    if (d < bd) {
      bd = d;
      best = c;
    }
  }
  return [best, bd];
}

/** k-means++ seeding: first centre uniformly, then each next with probability ∝ D(x)². */
export function kmeansPlusPlusInit(points: ArrayLike<number>[], k: number, rng: Rng): Float64Array[] {
  const n = points.length;
  const centroids: Float64Array[] = [Float64Array.from(points[Math.floor(rng.next() * n)]!)];
  const d2 = points.map((p) => sqDist(p, centroids[0]!));
  while (centroids.length < k) {
    const total = d2.reduce((a, b) => a + b, 0);
    let pick: number;
    if (total <= 0) {
      // All remaining points coincide with a centre: take the first not yet chosen.
      pick = centroids.length % n;
    } else {
      let u = rng.next() * total;
      pick = n - 1;
      for (let i = 0; i < n; i++) {
        u -= d2[i]!;
        if (u < 0) {
          pick = i;
          break;
        }
      }
    }
    const c = Float64Array.from(points[pick]!);
    centroids.push(c);
    for (let i = 0; i < n; i++) d2[i] = Math.min(d2[i]!, sqDist(points[i]!, c));
  }
  return centroids;
}

export function kmeans(points: ArrayLike<number>[], opts: KMeansOptions): KMeansResult {
  const n = points.length;
  if (n === 0) throw new Error('k-means on no points');
  const k = Math.max(1, Math.min(Math.floor(opts.k), n));
  const d = points[0]!.length;
  const maxIter = opts.maxIter ?? 50;
  const tol = opts.tol ?? 1e-7;
  const rng = new Rng(opts.seed ?? 0);
  let centroids = kmeansPlusPlusInit(points, k, rng);
  const assign = new Array<number>(n).fill(-1);
  let iterations = 0;
  for (; iterations < maxIter; iterations++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const [c] = nearest(points[i]!, centroids);
      if (c !== assign[i]) {
        assign[i] = c;
        changed++;
      }
    }
    const sums = Array.from({ length: k }, () => new Float64Array(d));
    const counts = new Array<number>(k).fill(0);
    for (let i = 0; i < n; i++) {
      const s = sums[assign[i]!]!;
      const p = points[i]!;
      for (let j = 0; j < d; j++) s[j]! += p[j]!;
      counts[assign[i]!]!++;
    }
    let shift = 0;
    const next = sums.map((s, c) => {
      if (counts[c] === 0) {
        // Empty cluster: move it to the point farthest from its centre.
        let far = 0;
        let fd = -1;
        for (let i = 0; i < n; i++) {
          const dd = sqDist(points[i]!, centroids[assign[i]!]!);
          if (dd > fd) {
            fd = dd;
            far = i;
          }
        }
        return Float64Array.from(points[far]!);
      }
      for (let j = 0; j < d; j++) s[j]! /= counts[c]!;
      return s;
    });
    for (let c = 0; c < k; c++) shift = Math.max(shift, sqDist(next[c]!, centroids[c]!));
    centroids = next;
    if (changed === 0 || shift < tol) {
      iterations++;
      break;
    }
  }
  const dist2 = new Array<number>(n);
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    const [c, dd] = nearest(points[i]!, centroids);
    assign[i] = c;
    dist2[i] = dd;
    inertia += dd;
  }
  return { k, centroids, assign, dist2, iterations, inertia };
}
