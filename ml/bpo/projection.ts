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
