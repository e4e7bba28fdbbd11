// bpo.balance-uniform@v1 — the paper's baseline: every prompt gets the same
// depth K, its top-K pairs by score gap (rows without scores keep input order);
// prompts with fewer pairs keep all of theirs.
import { Type, withDefault } from '../kind-schema.js';
import { defineKind } from '../step-kind.js';
import {
  groupByPrompt,
  readPairRows,
  SELECTION_OUTPUTS,
  selectionSummary,
  writeRows,
  type PairRow,
} from '../steps/bpo-common.js';

/** Indices kept, in input order. Pure. */
export function uniformDepth(rows: Pick<PairRow, 'prompt' | 'gap'>[], depth: number): number[] {
  const keep: number[] = [];
  for (const idx of groupByPrompt(rows).values()) {
    const ranked = [...idx].sort((a, b) => (rows[b]!.gap ?? 0) - (rows[a]!.gap ?? 0) || a - b);
    keep.push(...ranked.slice(0, depth));
  }
  return keep.sort((a, b) => a - b);
}

export const bpoBalanceUniform = defineKind({
  kind: 'bpo.balance-uniform',
  version: 'v1',
  description:
    'BPO baseline: every prompt keeps the same depth K, its top-K pairs by score gap (rows without ' +
    'score_chosen/score_rejected keep input order); prompts with fewer keep all.',
  queue: 'cpu',
  inline: true,
  args: Type.Object(
    {
      data: Type.String({ description: 's3:// URI of a pairs JSONL' }),
      depth: withDefault(Type.Integer({ minimum: 1, description: 'K, pairs per prompt' }), 2),
    },
    { additionalProperties: false },
  ),
  outputs: SELECTION_OUTPUTS,
  async run(ctx, args) {
    const { data: uri, depth } = args;
    const rows = await readPairRows(ctx, uri);
    const keep = uniformDepth(rows, depth);
    const ref = await writeRows(
      ctx,
      'pairs.jsonl',
      keep.map((i) => rows[i]!.raw),
      [uri],
      { depth },
    );
    const depths = [...groupByPrompt(keep.map((i) => rows[i]!)).values()].map((g) => g.length);
    return { data: ref.uri, ...selectionSummary(depths, rows.length) };
  },
});
