// Small dense-vector helpers shared by the BPO algorithms. Pure.
export type Vec = Float32Array | Float64Array | number[];

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const na = norm(a);
  const nb = norm(b);
  if (na === 0 || nb === 0) return 0;
  return dot(a, b) / (na * nb);
}

/** A copy scaled to unit length (a zero vector stays zero). */
export function normalize(a: ArrayLike<number>): Float32Array {
  const n = norm(a);
  const out = new Float32Array(a.length);
  if (n === 0) return out;
  for (let i = 0; i < a.length; i++) out[i] = a[i]! / n;
  return out;
}

export function mean(vectors: ArrayLike<number>[]): Float64Array {
  if (vectors.length === 0) throw new Error('mean of no vectors');
  const d = vectors[0]!.length;
  const out = new Float64Array(d);
  for (const v of vectors) {
    if (v.length !== d) throw new Error(`dimension mismatch: ${v.length} vs ${d}`);
    for (let i = 0; i < d; i++) out[i]! += v[i]!;
  }
  for (let i = 0; i < d; i++) out[i]! /= vectors.length;
  return out;
}

export function sqDist(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return s;
}
