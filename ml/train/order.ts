// The order in which the training loop visits examples: epoch e walks the
// permutation derived from (seed, 0x5eed, e). Knowing it up front lets a step
// prepare only what training will read (reference log-probs, token counts).
import { Rng } from '../rng.js';

export function epochOrder(seed: number, epoch: number, N: number): number[] {
  return Rng.derive(seed, 0x5eed, epoch).permutation(N);
}

/** The example indices `steps` updates of `perStep` examples read, in the order the loop reads them. */
export function trainingIndices(N: number, seed: number, steps: number, perStep: number): number[] {
  const out: number[] = [];
  let epoch = 0;
  let order = epochOrder(seed, 0, N);
  let cursor = 0;
  for (let k = 0; k < steps * perStep; k++) {
    if (cursor >= N) {
      epoch++;
      cursor = 0;
      order = epochOrder(seed, epoch, N);
    }
    out.push(order[cursor++]!);
  }
  return out;
}

/** Each index once, in order of first use. */
export function firstUses(indices: number[]): number[] {
  return [...new Set(indices)];
}
