// Informativeness, usefulness and the prompt scores that drive depth (ours,
// following the LESS/TAGCOS building blocks; see docs/bpo.md).
import { cosine, mean, normalize } from './vec.js';

/** Cosine of each point to the centroid of its own cluster: near the centre = representative. */
export function informativeness(points: ArrayLike<number>[], assign: number[], centroids: ArrayLike<number>[]): number[] {
  return points.map((p, i) => cosine(p, centroids[assign[i]!]!));
}

/** The optimisation direction: the normalized mean of (validation or pool) gradient features. */
export function optimizationDirection(features: ArrayLike<number>[]): Float32Array {
  return normalize(mean(features));
}

/** Cosine of each point with the optimisation direction. */
export function usefulness(points: ArrayLike<number>[], direction: ArrayLike<number>): number[] {
  return points.map((p) => cosine(p, direction));
}

export interface ScoreWeights {
  informativeness: number;
  usefulness: number;
  /** false ignores usefulness entirely. */
  useUsefulness: boolean;
}

export function pairScores(inf: number[], use: number[] | undefined, w: ScoreWeights): number[] {
  return inf.map((x, i) => w.informativeness * x + (w.useUsefulness && use ? w.usefulness * use[i]! : 0));
}

export type PromptAggregate = 'mean' | 'max' | 'sum';

/** Groups pair scores by prompt key (first-seen order) and aggregates them. */
export function promptScores(keys: string[], scores: number[], how: PromptAggregate = 'mean'): Map<string, { score: number; pairs: number[] }> {
  const groups = new Map<string, number[]>();
  keys.forEach((k, i) => {
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  });
  const out = new Map<string, { score: number; pairs: number[] }>();
  for (const [k, idx] of groups) {
    const s = idx.map((i) => scores[i]!);
    const score = how === 'max' ? Math.max(...s) : how === 'sum' ? s.reduce((a, b) => a + b, 0) : s.reduce((a, b) => a + b, 0) / s.length;
    out.set(k, { score, pairs: idx });
  }
  return out;
}

/**
 * Allocation weight of a prompt score: scores are cosines (can be negative), so
 * we use exp(score / temperature) (ours): positive, monotone, and temperature
 * sets how strongly depth follows the score (large = near uniform).
 */
export function scoreWeight(score: number, temperature: number): number {
  return Math.exp(score / Math.max(1e-6, temperature));
}
