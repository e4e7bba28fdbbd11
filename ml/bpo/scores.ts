// Informativeness, usefulness and the prompt scores that drive depth (ours,
// following the LESS/TAGCOS building blocks; see docs/bpo.md).
import { cosine, mean, normalize } from './vec.js';

/**
 * How informative each point is, from its cosine c to the centroid of its own cluster:
 * `centroid` scores c (near the centre = representative, the method doc's reading);
 * `distance` scores 1 − c (far from the centre = atypical, not redundant with its cluster).
 */
export type InformativenessMode = 'centroid' | 'distance';

export function informativeness(
  points: ArrayLike<number>[],
  assign: number[],
  centroids: ArrayLike<number>[],
  mode: InformativenessMode = 'centroid',
): number[] {
  return points.map((p, i) => {
    const c = cosine(p, centroids[assign[i]!]!);
    return mode === 'distance' ? 1 - c : c;
  });
}

/**
 * Gradient magnitude as a score: the z-score of log‖g‖ over the pool (0 when all norms are
 * equal). A large DPO gradient marks a pair the policy is far from fitting.
 */
export function magnitudeScores(norms: number[]): number[] {
  const logs = norms.map((n) => Math.log(Math.max(n, 1e-30)));
  const m = logs.reduce((a, b) => a + b, 0) / Math.max(1, logs.length);
  const sd = Math.sqrt(logs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, logs.length));
  return logs.map((x) => (sd > 1e-12 ? (x - m) / sd : 0));
}

/**
 * Usefulness per group: each point's cosine to the optimisation direction of the target
 * points in its own group (e.g. the validation pairs of its task family); a group with no
 * target points uses the direction of all of them.
 */
export function groupUsefulness(
  points: ArrayLike<number>[],
  groups: string[],
  targets: ArrayLike<number>[],
  targetGroups: string[],
): number[] {
  const all = optimizationDirection(targets);
  const dirs = new Map<string, Float32Array>();
  for (const g of new Set(targetGroups))
    dirs.set(g, optimizationDirection(targets.filter((_, i) => targetGroups[i] === g)));
  return points.map((p, i) => cosine(p, dirs.get(groups[i]!) ?? all));
}

/** A prompt's group: the first capture group of `pattern` in it (else the whole match; '' if none). */
export function groupOf(pattern: RegExp, prompt: string): string {
  const m = pattern.exec(prompt);
  return m ? (m[1] ?? m[0]) : '';
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
  /** Weight of the gradient-magnitude score (0 = unused). */
  magnitude?: number;
}

export function pairScores(inf: number[], use: number[] | undefined, w: ScoreWeights, magnitude?: number[]): number[] {
  return inf.map(
    (x, i) =>
      w.informativeness * x +
      (w.useUsefulness && use ? w.usefulness * use[i]! : 0) +
      (w.magnitude && magnitude ? w.magnitude * magnitude[i]! : 0),
  );
}

export type PromptAggregate = 'mean' | 'max' | 'sum';

/** Groups pair scores by prompt key (first-seen order) and aggregates them. */
export function promptScores(
  keys: string[],
  scores: number[],
  how: PromptAggregate = 'mean',
): Map<string, { score: number; pairs: number[] }> {
  const groups = new Map<string, number[]>();
  keys.forEach((k, i) => {
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  });
  const out = new Map<string, { score: number; pairs: number[] }>();
  for (const [k, idx] of groups) {
    const s = idx.map((i) => scores[i]!);
    const score =
      how === 'max'
        ? Math.max(...s)
        : how === 'sum'
          ? s.reduce((a, b) => a + b, 0)
          : s.reduce((a, b) => a + b, 0) / s.length;
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
