// dataset.split@v1: deterministic train/validation/test split *by prompt*:
// every record of a prompt lands in the same split, chosen by
// sha256(seed \0 prompt text) — so the split is stable across runs and row
// order, and no prompt leaks from train into the held-out sets.
import { writeJsonl } from '../../store/datasets.js';
import { type DatasetRecord } from '../../formats/index.js';
import { Type, withDefault } from '../kind-schema.js';
import { BadInput, defineKind } from '../step-kind.js';
import { dataArg, FORMAT_DESCRIPTION, formatArg } from '../steps/args.js';
import { hashUnit, loadDataset, producerOf, recordPrompt } from '../steps/common.js';

export type SplitName = 'train' | 'validation' | 'test';

/** Which split a prompt belongs to, for fractions (train, validation); test takes the rest. */
export function splitOf(prompt: string, seed: number, train: number, validation: number): SplitName {
  const u = hashUnit(prompt, seed);
  return u < train ? 'train' : u < train + validation ? 'validation' : 'test';
}

const fraction = (of: string, value: number) =>
  withDefault(Type.Number({ minimum: 0, maximum: 1, description: `fraction of prompts for ${of}` }), value);

export const datasetSplit = defineKind({
  kind: 'dataset.split',
  version: 'v1',
  description:
    'Deterministic train/validation/test split by prompt: all rows of a prompt go to the split chosen by ' +
    'sha256(seed, prompt text).',
  queue: 'cpu',
  inline: true,
  args: Type.Object(
    {
      data: dataArg('s3:// URI of a dataset (JSONL)'),
      format: formatArg(FORMAT_DESCRIPTION),
      train: fraction('training', 0.8),
      validation: fraction('validation', 0.1),
      test: Type.Optional(
        Type.Number({
          minimum: 0,
          maximum: 1,
          description: 'fraction of prompts for test (default: the rest); the three must sum to 1',
        }),
      ),
      seed: withDefault(Type.Integer({ minimum: 0, description: 'hash seed: another seed gives another split' }), 0),
    },
    { additionalProperties: false },
  ),
  outputs: {
    train: { type: 'artifact', description: 'training rows (JSONL)' },
    validation: { type: 'artifact', description: 'validation rows (JSONL)' },
    test: { type: 'artifact', description: 'test rows (JSONL)' },
    trainRows: { type: 'number' },
    validationRows: { type: 'number' },
    testRows: { type: 'number' },
    trainPrompts: { type: 'number', description: 'unique prompts in train' },
    validationPrompts: { type: 'number' },
    testPrompts: { type: 'number' },
  },
  async run(ctx, a) {
    const { data, train, validation, seed } = a;
    const test = a.test ?? 1 - train - validation;
    if (Math.abs(train + validation + test - 1) > 1e-9) {
      throw new BadInput(`train + validation + test must be 1, got ${train} + ${validation} + ${test}`);
    }
    const { records } = await loadDataset(ctx, data, a.format);
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
});
