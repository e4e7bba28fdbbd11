// bpo.balance-length@v1 — the ablation: depth by response length. A prompt's
// weight is the mean length (characters) of its pairs' responses, so longer
// responses get more pairs, under the same budget and bounds as
// bpo.gradient-cluster; within a prompt the longest pairs are kept.
import { depthSelection } from '../../ml/bpo/index.js';
import { AllocationError } from '../../ml/bpo/allocate.js';
import { BadInput, type StepKind } from '../step-kind.js';
import { depthSummary, int, readPairRows, real, writeRows } from '../steps/bpo-common.js';
import { producerOf } from '../steps/common.js';

export function budgetOf(args: Record<string, unknown>, pool: number): number {
  if (args.budget !== undefined) return int(args.budget, 0, 'budget', 1);
  const f = real(args.budgetFraction, 0.5, 'budgetFraction');
  if (!(f > 0 && f <= 1)) throw new BadInput(`budgetFraction must be in (0, 1], got ${f}`);
  return Math.max(1, Math.round(f * pool));
}

export const bpoBalanceLength: StepKind = {
  kind: 'bpo.balance-length',
  version: 'v1',
  async run(ctx, args) {
    const uri = String(args.data);
    const rows = await readPairRows(ctx, uri);
    const budget = budgetOf(args, rows.length);
    const minDepth = int(args.minDepth, 1, 'minDepth');
    const maxDepth = int(args.maxDepth, 8, 'maxDepth', 1);
    const len = rows.map((r) => (r.chosen.length + r.rejected.length) / 2);
    const sums = new Map<string, { s: number; n: number }>();
    rows.forEach((r, i) => {
      const x = sums.get(r.prompt) ?? { s: 0, n: 0 };
      x.s += len[i]!;
      x.n++;
      sums.set(r.prompt, x);
    });
    const weights = new Map([...sums].map(([p, x]) => [p, x.s / x.n]));
    let sel;
    try {
      sel = depthSelection(rows.map((r) => r.prompt), len, weights, { budget, minDepth, maxDepth });
    } catch (e) {
      if (e instanceof AllocationError) throw new BadInput(e.message);
      throw e;
    }
    const ref = await writeRows(ctx, 'pairs.jsonl', sel.keep.map((i) => rows[i]!.raw), [uri], { budget });
    const alloc = await ctx.store.putJson(ctx.outputUri('allocation.json'), { budget, prompts: sel.prompts.map((p) => ({ prompt: p.prompt, depth: p.depth, score: p.weight, available: p.available })) }, { kind: 'report', producer: producerOf(ctx), inputs: [uri] });
    const s = depthSummary(sel.prompts.map((p) => p.depth));
    return { data: ref.uri, allocation: alloc.uri, pairs: s.pairs, prompts: s.prompts, poolPairs: rows.length, budget, depthHistogram: JSON.stringify(s.histogram) };
  },
};
