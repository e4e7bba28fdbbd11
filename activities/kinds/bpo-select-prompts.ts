// bpo.select-prompts@v1 — breadth control: embed each distinct prompt with the
// policy (mean-pooled final hidden states), cluster with seeded k-means++, and
// keep the prompts nearest their centroid in each cluster, by count or fraction.
import { embedPrompts, tokenizerOf, selectBackend } from '../../ml/index.js';
import { normalize, selectRepresentatives } from '../../ml/bpo/index.js';
import { Type, withDefault } from '../kind-schema.js';
import { BadInput, defineKind } from '../step-kind.js';
import { breathe, producerOf } from '../steps/common.js';
import { groupByPrompt, readPromptRows, writeRows } from '../steps/bpo-common.js';
import { loadModelArtifact } from '../steps/model-io.js';

export const bpoSelectPrompts = defineKind({
  kind: 'bpo.select-prompts',
  version: 'v1',
  description:
    'BPO breadth control: embed each distinct prompt with the policy (mean-pooled final hidden states), seeded ' +
    'k-means++, keep the prompts nearest their centroid in each cluster (quotas proportional to cluster size, ' +
    'at least one per cluster when the target allows), by count or fraction.',
  queue: 'cpu',
  args: Type.Object(
    {
      data: Type.String({
        description: 's3:// URI of a JSONL dataset whose rows carry a prompt (prompt-only, pairs, multi) or messages',
      }),
      model: Type.String({ description: 'model artifact: s3:// URI or channel://<name>' }),
      k: withDefault(Type.Integer({ minimum: 1, description: 'clusters' }), 8),
      count: Type.Optional(Type.Integer({ minimum: 0, description: 'prompts to keep (one of count/fraction)' })),
      fraction: Type.Optional(
        Type.Number({
          minimum: 0,
          maximum: 1,
          description: 'fraction of distinct prompts to keep (one of count/fraction)',
        }),
      ),
      seed: withDefault(Type.Integer({ minimum: 0 }), 0),
      normalize: withDefault(
        Type.Boolean({ description: 'L2-normalize embeddings before clustering (cosine geometry)' }),
        true,
      ),
      batchSize: withDefault(Type.Integer({ minimum: 1 }), 8),
    },
    { additionalProperties: false },
  ),
  outputs: {
    data: { type: 'artifact', description: 'the input rows whose prompt was selected, in input order' },
    selection: { type: 'artifact', description: 'JSON: k, quotas, per prompt {cluster, dist, selected}' },
    prompts: { type: 'number', description: 'prompts selected' },
    poolPrompts: { type: 'number', description: 'distinct prompts in the input' },
    rows: { type: 'number', description: 'rows written' },
    k: { type: 'number', description: 'clusters used (k capped at the number of prompts)' },
  },
  async run(ctx, args) {
    const { data, k, seed } = args;
    if ((args.count === undefined) === (args.fraction === undefined))
      throw new BadInput('give exactly one of count or fraction');
    const rows = await readPromptRows(ctx, data);
    const groups = groupByPrompt(rows);
    const prompts = [...groups.keys()];
    await selectBackend();
    const { model, uri: modelUri } = await loadModelArtifact(ctx.store, args.model);
    const tok = tokenizerOf(model);
    const emb: Float32Array[] = [];
    try {
      const bs = args.batchSize;
      for (let s = 0; s < prompts.length; s += bs) {
        emb.push(...embedPrompts(model, tok, prompts.slice(s, s + bs), { batchSize: bs }));
        ctx.progress({ done: Math.min(prompts.length, s + bs), total: prompts.length, unit: 'prompts' });
        await breathe(ctx);
      }
    } finally {
      model.dispose();
    }
    const points = args.normalize ? emb.map((e) => normalize(e)) : emb;
    const { selected, quotas, clusters } = selectRepresentatives(points, {
      k,
      seed,
      count: args.count,
      fraction: args.fraction,
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
        prompts: prompts.map((p, i) => ({
          prompt: p,
          cluster: clusters.assign[i],
          dist: Math.sqrt(clusters.dist2[i]!),
          selected: keep.has(p),
        })),
      },
      { kind: 'report', producer: producerOf(ctx), inputs: [data, modelUri] },
    );
    return {
      data: ref.uri,
      selection: report.uri,
      prompts: keep.size,
      poolPrompts: prompts.length,
      rows: ref.rows,
      k: clusters.k,
    };
  },
});
