// bpo.select-prompts@v1 — breadth control: embed each distinct prompt with the
// policy (mean-pooled final hidden states), cluster with seeded k-means++, and
// keep the prompts nearest their centroid in each cluster, by count or fraction.
import { embedPrompts, tokenizerOf, selectBackend } from '../../ml/index.js';
import { normalize, selectRepresentatives } from '../../ml/bpo/index.js';
import { BadInput, type StepKind } from '../step-kind.js';
import { breathe, producerOf } from '../steps/common.js';
import { groupByPrompt, int, readPromptRows, writeRows } from '../steps/bpo-common.js';
import { loadModelArtifact } from '../steps/model-io.js';

export const bpoSelectPrompts: StepKind = {
  kind: 'bpo.select-prompts',
  version: 'v1',
  async run(ctx, args) {
    const data = String(args.data);
    const k = int(args.k, 8, 'k', 1);
    const seed = int(args.seed, 0, 'seed');
    if ((args.count === undefined) === (args.fraction === undefined)) throw new BadInput('give exactly one of count or fraction');
    const rows = await readPromptRows(ctx, data);
    const groups = groupByPrompt(rows);
    const prompts = [...groups.keys()];
    await selectBackend();
    const { model, uri: modelUri } = await loadModelArtifact(ctx.store, String(args.model));
    const tok = tokenizerOf(model);
    const emb: Float32Array[] = [];
    try {
      const bs = int(args.batchSize, 8, 'batchSize', 1);
      for (let s = 0; s < prompts.length; s += bs) {
        emb.push(...embedPrompts(model, tok, prompts.slice(s, s + bs), { batchSize: bs }));
        ctx.progress({ done: Math.min(prompts.length, s + bs), total: prompts.length, unit: 'prompts' });
        await breathe(ctx);
      }
    } finally {
      model.dispose();
    }
    const points = args.normalize === false ? emb : emb.map((e) => normalize(e));
    const { selected, quotas, clusters } = selectRepresentatives(points, {
      k,
      seed,
      count: args.count === undefined ? undefined : int(args.count, 0, 'count'),
      fraction: args.fraction === undefined ? undefined : Number(args.fraction),
    });
    const keep = new Set(selected.map((i) => prompts[i]!));
    const out = rows.filter((r) => keep.has(r.prompt)).map((r) => r.raw);
    const ref = await writeRows(ctx, 'data.jsonl', out, [data, modelUri], { prompts: keep.size });
    const report = await ctx.store.putJson(
      ctx.outputUri('selection.json'),
      {
        k: clusters.k,
        seed,
        quotas,
        prompts: prompts.map((p, i) => ({ prompt: p, cluster: clusters.assign[i], dist: Math.sqrt(clusters.dist2[i]!), selected: keep.has(p) })),
      },
      { kind: 'report', producer: producerOf(ctx), inputs: [data, modelUri] },
    );
    return { data: ref.uri, selection: report.uri, prompts: keep.size, poolPrompts: prompts.length, rows: ref.rows, k: clusters.k };
  },
};
