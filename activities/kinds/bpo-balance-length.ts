// bpo.balance-length@v1 — the ablation: depth by response length. A prompt's
// weight is the mean length (characters) of its pairs' responses, so longer
// responses get more pairs, under the same budget and bounds as
// bpo.gradient-cluster; within a prompt the longest pairs are kept.
import { Type } from '../kind-schema.js';
import { defineKind } from '../step-kind.js';
import {
  budgetArgs,
  budgetOf,
  readPairRows,
  SELECTION_OUTPUTS,
  selectionSummary,
  selectDepth,
  writeKeptPairs,
} from '../steps/bpo-common.js';
import { producerOf } from '../steps/common.js';

export const bpoBalanceLength = defineKind({
  kind: 'bpo.balance-length',
  version: 'v1',
  description:
    "BPO ablation: depth by response length. A prompt's weight is the mean response length of its pairs; " +
    'the budget is shared in proportion within [minDepth, maxDepth]; a prompt keeps its longest pairs.',
  queue: 'cpu',
  args: Type.Object(
    {
      data: Type.String({ description: 's3:// URI of a pairs JSONL' }),
      ...budgetArgs,
    },
    { additionalProperties: false },
  ),
  outputs: {
    ...SELECTION_OUTPUTS,
    allocation: { type: 'artifact', description: 'JSON {prompts:[{prompt, depth, score}]}' },
    budget: { type: 'number', description: 'pair budget used' },
  },
  async run(ctx, args) {
    const { data: uri, minDepth, maxDepth } = args;
    const rows = await readPairRows(ctx, uri);
    const budget = budgetOf(args, rows.length);
    const len = rows.map((r) => (r.chosen.length + r.rejected.length) / 2);
    const sums = new Map<string, { s: number; n: number }>();
    rows.forEach((r, i) => {
      const x = sums.get(r.prompt) ?? { s: 0, n: 0 };
      x.s += len[i]!;
      x.n++;
      sums.set(r.prompt, x);
    });
    const weights = new Map([...sums].map(([p, x]) => [p, x.s / x.n]));
    const sel = selectDepth(
      rows.map((r) => r.prompt),
      len,
      weights,
      { budget, minDepth, maxDepth },
    );
    const ref = await writeKeptPairs(ctx, rows, sel.keep, [uri], budget);
    const alloc = await ctx.store.putJson(
      ctx.outputUri('allocation.json'),
      {
        budget,
        prompts: sel.prompts.map((p) => ({
          prompt: p.prompt,
          depth: p.depth,
          score: p.weight,
          available: p.available,
        })),
      },
      { kind: 'report', producer: producerOf(ctx), inputs: [uri] },
    );
    const summary = selectionSummary(
      sel.prompts.map((p) => p.depth),
      rows.length,
    );
    return { data: ref.uri, allocation: alloc.uri, budget, ...summary };
  },
});
