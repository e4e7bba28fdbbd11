// Seeded Rademacher random projection (as LESS does with TRAK's projector):
// R is D×d with entries ±1/√d, so E‖Rᵀx‖² = ‖x‖². R is never stored: row i's
// signs come from a PRNG seeded with (seed, i), 32 signs per draw.
import { Rng } from '../rng.js';

/** Projects each D-dim vector to d dims. All vectors must have the same length. */
export function rademacherProject(vectors: ArrayLike<number>[], d: number, seed = 0): Float32Array[] {
  if (!Number.isInteger(d) || d < 1) throw new Error(`projection dim must be a positive integer, got ${d}`);
  if (vectors.length === 0) return [];
  const D = vectors[0]!.length;
  for (const v of vectors) if (v.length !== D) throw new Error(`dimension mismatch: ${v.length} vs ${D}`);
  const acc = vectors.map(() => new Float64Array(d));
  const words = Math.ceil(d / 32);
  const signs = new Int8Array(d);
  for (let i = 0; i < D; i++) {
    const rng = Rng.derive(seed, i);
    for (let w = 0; w < words; w++) {
      const bits = rng.nextU32();
      const lim = Math.min(32, d - w * 32);
      for (let b = 0; b < lim; b++) signs[w * 32 + b] = (bits >>> b) & 1 ? 1 : -1;
    }
    for (let n = 0; n < vectors.length; n++) {
      const x = vectors[n]![i]!;
      if (x === 0) continue;
      const a = acc[n]!;
      for (let j = 0; j < d; j++) a[j]! += signs[j]! * x;
    }
  }
  const scale = 1 / Math.sqrt(d);
  return acc.map((a) => Float32Array.from(a, (v) => v * scale));
}

/** A 32-bit integer hash of (seed, i) (murmur3's finalizer over a golden-ratio mix). */
function hash32(seed: number, i: number): number {
  let h = (Math.imul(i + 1, 0x9e3779b9) ^ Math.imul(seed + 0x632be5ab, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Count-sketch projection (ours, for speed): coordinate i adds ±x_i into bin h(i), with bin
 * and sign from a seeded hash of i. E‖Sx‖² = ‖x‖² like Rademacher's, at O(D) per vector
 * instead of O(D·d), so d = 8192 (LESS's default) costs no more than d = 64.
 */
export function sketchProject(vectors: ArrayLike<number>[], d: number, seed = 0): Float32Array[] {
  if (!Number.isInteger(d) || d < 1) throw new Error(`projection dim must be a positive integer, got ${d}`);
  if (vectors.length === 0) return [];
  const D = vectors[0]!.length;
  for (const v of vectors) if (v.length !== D) throw new Error(`dimension mismatch: ${v.length} vs ${D}`);
  const bin = new Uint32Array(D);
  const sign = new Int8Array(D);
  for (let i = 0; i < D; i++) {
    const h = hash32(seed, i);
    bin[i] = (h >>> 1) % d;
    sign[i] = h & 1 ? 1 : -1;
  }
  return vectors.map((x) => {
    const a = new Float64Array(d);
    for (let i = 0; i < D; i++) a[bin[i]!]! += sign[i]! * x[i]!;
    return Float32Array.from(a);
  });
}

export type ProjectionKind = 'rademacher' | 'sketch';

export function project(kind: ProjectionKind, vectors: ArrayLike<number>[], d: number, seed = 0): Float32Array[] {
  return kind === 'sketch' ? sketchProject(vectors, d, seed) : rademacherProject(vectors, d, seed);
}
