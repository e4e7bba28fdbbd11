// LESS-style Adam preconditioning of per-sample gradients.
// Moments (m, v) come from a warm-up: here (ours) the per-sample gradients of a
// warm-up slice fed in mini-batches to Adam's moment recursions, without weight
// updates. Then, per LESS, each sample gradient g becomes
//   m' = β1·m + (1-β1)·g,  v' = β2·v + (1-β2)·g²,  Γ = m' / (√v' + ε).
export interface AdamMoments {
  m: Float64Array;
  v: Float64Array;
  steps: number;
}

export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/** Runs the moment recursions over mini-batch mean gradients, with bias correction. */
export function warmupMoments(grads: ArrayLike<number>[], batchSize: number, opts: AdamOptions = {}): AdamMoments {
  if (grads.length === 0) throw new Error('warm-up needs at least one gradient');
  const b1 = opts.beta1 ?? 0.9;
  const b2 = opts.beta2 ?? 0.999;
  const D = grads[0]!.length;
  const m = new Float64Array(D);
  const v = new Float64Array(D);
  const bs = Math.max(1, Math.floor(batchSize));
  let steps = 0;
  const g = new Float64Array(D);
  for (let s = 0; s < grads.length; s += bs) {
    const batch = grads.slice(s, s + bs);
    g.fill(0);
    for (const x of batch) for (let i = 0; i < D; i++) g[i]! += x[i]! / batch.length;
    for (let i = 0; i < D; i++) {
      m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
      v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
    }
    steps++;
  }
  // Bias-corrected, so a short warm-up is not dominated by the zero start.
  const c1 = 1 - b1 ** steps;
  const c2 = 1 - b2 ** steps;
  for (let i = 0; i < D; i++) {
    m[i]! /= c1;
    v[i]! /= c2;
  }
  return { m, v, steps };
}

export function adamPrecondition(g: ArrayLike<number>, moments: AdamMoments, opts: AdamOptions = {}): Float32Array {
  const b1 = opts.beta1 ?? 0.9;
  const b2 = opts.beta2 ?? 0.999;
  const eps = opts.eps ?? 1e-8;
  const out = new Float32Array(g.length);
  for (let i = 0; i < g.length; i++) {
    const m1 = b1 * moments.m[i]! + (1 - b1) * g[i]!;
    const v1 = b2 * moments.v[i]! + (1 - b2) * g[i]! * g[i]!;
    out[i] = m1 / (Math.sqrt(v1) + eps);
  }
  return out;
}
