// Depth selection under a total pair budget: every prompt's depth is
// allocated in proportion to its weight within [minDepth, maxDepth] (and never
// more than it has), then each prompt keeps its best-scoring pairs. Pure.
import { allocate } from './allocate.js';

export interface DepthOptions {
  budget: number;
  minDepth: number;
  maxDepth: number;
}

export interface DepthResult {
  /** Kept pair indices, ascending. */
  keep: number[];
  prompts: { prompt: string; depth: number; available: number; weight: number }[];
}

/** Pairs rank by `pairScore` (descending), then `tieBreak` (descending), then input order. */
export function depthSelection(
  promptOf: string[],
  pairScore: number[],
  promptWeight: Map<string, number>,
  opts: DepthOptions,
  tieBreak?: number[],
): DepthResult {
  const groups = new Map<string, number[]>();
  promptOf.forEach((p, i) => {
    const g = groups.get(p);
    if (g) g.push(i);
    else groups.set(p, [i]);
  });
  const names = [...groups.keys()];
  const avail = names.map((p) => groups.get(p)!.length);
  const hi = avail.map((a) => Math.min(a, opts.maxDepth));
  const lo = hi.map((h) => Math.min(h, opts.minDepth));
  const weights = names.map((p) => promptWeight.get(p) ?? 0);
  const depths = allocate({ weights, lo, hi, budget: opts.budget });
  const keep: number[] = [];
  names.forEach((p, j) => {
    const ranked = [...groups.get(p)!].sort(
      (a, b) => pairScore[b]! - pairScore[a]! || (tieBreak ? tieBreak[b]! - tieBreak[a]! : 0) || a - b,
    );
    keep.push(...ranked.slice(0, depths[j]!));
  });
  keep.sort((a, b) => a - b);
  return {
    keep,
    prompts: names.map((p, j) => ({ prompt: p, depth: depths[j]!, available: avail[j]!, weight: weights[j]! })),
  };
}
