// dataset.split@v1: deterministic train/validation/test split *by prompt*:
// every record of a prompt lands in the same split, chosen by
// sha256(seed \0 prompt text) — so the split is stable across runs and row
// order, and no prompt leaks from train into the held-out sets.
import { writeJsonl, type DatasetFormat, type DatasetRecord } from '../../store/datasets.js';
import { BadInput, type StepKind } from '../step-kind.js';
import { hashUnit, loadDataset, num, producerOf, recordPrompt } from '../steps/common.js';

export type SplitName = 'train' | 'validation' | 'test';

/** Which split a prompt belongs to, for fractions (train, validation); test takes the rest. */
export function splitOf(prompt: string, seed: number, train: number, validation: number): SplitName {
  const u = hashUnit(prompt, seed);
  return u < train ? 'train' : u < train + validation ? 'validation' : 'test';
}

export const datasetSplit: StepKind = {
  kind: 'dataset.split',
  version: 'v1',
  inline: true,
  async run(ctx, a) {
    const data = String(a.data);
    const train = num(a.train, 0.8);
    const validation = num(a.validation, 0.1);
    const test = num(a.test, 1 - train - validation);
    if (Math.abs(train + validation + test - 1) > 1e-9) throw new BadInput(`train + validation + test must be 1, got ${train} + ${validation} + ${test}`);
    const seed = num(a.seed, 0);
    const { records } = await loadDataset(ctx, data, (a.format ?? 'auto') as DatasetFormat | 'auto');
    const parts: Record<SplitName, DatasetRecord[]> = { train: [], validation: [], test: [] };
    const prompts: Record<SplitName, Set<string>> = { train: new Set(), validation: new Set(), test: new Set() };
    for (const r of records) {
      const p = recordPrompt(r);
      const s = splitOf(p, seed, train, validation);
      parts[s].push(r);
      prompts[s].add(p);
    }
    const out: Record<string, string | number> = {};
    for (const s of ['train', 'validation', 'test'] as const) {
      const ref = await writeJsonl(ctx.store, ctx.outputUri(`${s}.jsonl`), parts[s], {
        kind: 'dataset',
        producer: producerOf(ctx),
        inputs: [data],
        attributes: { split: s, seed, fraction: { train, validation, test }[s], prompts: prompts[s].size },
      });
      out[s] = ref.uri;
      out[`${s}Rows`] = ref.rows;
      out[`${s}Prompts`] = prompts[s].size;
    }
    return out;
  },
};
