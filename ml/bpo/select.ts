// Breadth control: choose prompts per cluster, nearest to the centroid first.
import { allocate } from './allocate.js';
import { kmeans, type KMeansResult } from './kmeans.js';

export interface SelectOptions {
  k: number;
  seed?: number;
  /** Exactly one of count / fraction. */
  count?: number;
  fraction?: number;
}

/** Returns the chosen indices (ascending), the per-cluster quotas and the clustering. */
export function selectRepresentatives(
  points: ArrayLike<number>[],
  opts: SelectOptions,
): { selected: number[]; quotas: number[]; clusters: KMeansResult } {
  const n = points.length;
  const clusters = kmeans(points, { k: opts.k, seed: opts.seed });
  const members: number[][] = Array.from({ length: clusters.k }, () => []);
  clusters.assign.forEach((c, i) => members[c]!.push(i));
  const target =
    opts.count !== undefined
      ? Math.min(n, Math.max(0, Math.floor(opts.count)))
      : Math.round(Math.min(1, Math.max(0, opts.fraction ?? 1)) * n);
  const nonEmpty = members.filter((m) => m.length > 0).length;
  // Each non-empty cluster keeps at least one prompt when the target allows (breadth), the rest ∝ size.
  const lo = members.map((m) => (m.length > 0 && target >= nonEmpty ? 1 : 0));
  const quotas = allocate({
    weights: members.map((m) => m.length),
    lo,
    hi: members.map((m) => m.length),
    budget: target,
  });
  const selected: number[] = [];
  members.forEach((m, c) => {
    const byDist = [...m].sort((a, b) => clusters.dist2[a]! - clusters.dist2[b]! || a - b);
    selected.push(...byDist.slice(0, quotas[c]!));
  });
  selected.sort((a, b) => a - b);
  return { selected, quotas, clusters };
}
