// Shared fixtures for the ml tests: backend from $BPOFLOW_ML_BACKEND (default
// auto: native TensorFlow where setup linked it, else wasm; test/run.ts runs
// these tests once on wasm and once on tensorflow), and a minuscule model so
// the suite stays fast.
import { selectBackend, type BackendPref } from '../../../ml/backend.js';
import { makeConfig, type Gpt2Config } from '../../../ml/config.js';
import { Gpt2Model } from '../../../ml/gpt2.js';

export async function useBackend(): Promise<string> {
  const pref = (process.env.BPOFLOW_ML_BACKEND ?? 'auto') as BackendPref;
  const got = await selectBackend(pref);
  // A named backend is what the run is for: never let it quietly fall back.
  if (pref !== 'auto' && got.name !== pref)
    throw new Error(`BPOFLOW_ML_BACKEND=${pref} but the backend is ${got.name}: ${got.reason}`);
  // Code under test that selects a backend itself (selectBackend() with no preference) keeps this one.
  process.env.BPOFLOW_BACKEND = pref;
  return got.name;
}

export function microConfig(over: Partial<Gpt2Config> = {}): Gpt2Config {
  return { ...makeConfig({ n_layer: 2, n_head: 2, n_embd: 16, n_positions: 64 }, 258), ...over };
}

export function microModel(seed = 1, over: Partial<Gpt2Config> = {}): Gpt2Model {
  return Gpt2Model.init(microConfig(over), seed, 'byte');
}

export const PAIRS = [
  { prompt: 'Q: 2+2? A:', chosen: ' 4', rejected: ' 5' },
  { prompt: 'Q: sky? A:', chosen: ' blue', rejected: ' green' },
  { prompt: 'Say hi:', chosen: ' hi', rejected: ' bye!' },
  { prompt: 'Q: cat? A:', chosen: ' meow', rejected: ' woof' },
];

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
