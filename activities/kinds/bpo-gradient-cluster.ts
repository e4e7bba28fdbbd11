// bpo.gradient-cluster@v1 — the BPO core (our reconstruction, docs/bpo.md):
//   features: per-pair gradient of the DPO loss over a parameter subset (default
//   last block + ln_f), optionally Adam-preconditioned with moments from a short
//   warm-up (LESS), seeded Rademacher projection to d dims, L2-normalized;
//   k-means++ (seeded); informativeness = cosine to own centroid; usefulness =
//   cosine with the normalized mean gradient of a validation set (or the pool);
//   prompt score = aggregate of pair scores; depth ∝ exp(score / temperature)
//   within [minDepth, maxDepth] under a total pair budget; within a prompt the
//   best-scoring pairs are kept.
// The feature pass is shardable over `data`: shards write features, the merge
// clusters and allocates. Unsharded, one run does both.
// Options the benchmark measured (docs/bpo.md, ours): a count-sketch projection, informativeness by distance,
// usefulness per group (e.g. task family), and a gradient-magnitude term in the score.
import {
  blockPrefix,
  computeRefLogps,
  DPO_DEFAULTS,
  perSampleGradFeatures,
  Rng,
  selectBackend,
  type CausalLM,
  type PreferencePair,
} from '../../ml/index.js';
import {
  adamPrecondition,
  groupOf,
  groupUsefulness,
  informativeness,
  kmeans,
  magnitudeScores,
  norm,
  normalize,
  optimizationDirection,
  pairScores,
  pca2,
  promptScores,
  project,
  scoreWeight,
  usefulness,
  warmupMoments,
  type AdamMoments,
} from '../../ml/bpo/index.js';
import { StringEnum, Type, withDefault, type ArgsOf } from '../kind-schema.js';
import { BadInput, defineKind, shardRange, type StepContext } from '../step-kind.js';
import { breathe, producerOf } from '../steps/common.js';
import {
  budgetArgs,
  budgetOf,
  readPairRows,
  SELECTION_OUTPUTS,
  selectionSummary,
  selectDepth,
  writeKeptPairs,
} from '../steps/bpo-common.js';
import type { PairRow } from '../steps/bpo-common.js';
import { loadModelArtifact } from '../steps/model-io.js';

const gradientClusterArgs = Type.Object(
  {
    data: Type.String({ description: 's3:// URI of the pairs pool (JSONL)' }),
    model: Type.String({ description: 'policy whose gradients are taken (the SFT model)' }),
    ref: Type.Optional(Type.String({ description: 'DPO reference model (default: model)' })),
    validation: Type.Optional(
      Type.String({
        description:
          "s3:// URI of validation pairs; their mean gradient is the usefulness direction (default: the pool's)",
      }),
    ),
    // Features: per-pair gradients, Adam-preconditioned, projected.
    params: withDefault(
      Type.Array(Type.String(), {
        minItems: 1,
        description: 'parameter-name prefixes; "last-block" = transformer.h.<n_layer-1>.',
      }),
      ['last-block', 'transformer.ln_f.'],
    ),
    beta: withDefault(
      Type.Number({ exclusiveMinimum: 0, description: 'DPO beta of the loss whose gradient is taken' }),
      DPO_DEFAULTS.beta,
    ),
    adam: withDefault(
      Type.Object(
        {
          enabled: withDefault(Type.Boolean(), true),
          warmupPairs: withDefault(
            Type.Integer({ minimum: 1, description: 'seeded sample of the pool whose gradients build the moments' }),
            32,
          ),
          batchSize: withDefault(Type.Integer({ minimum: 1, description: 'warm-up mini-batch' }), 8),
        },
        { additionalProperties: false },
      ),
      {},
    ),
    projectionDim: withDefault(Type.Integer({ minimum: 1 }), 256),
    projection: withDefault(
      StringEnum(['rademacher', 'sketch'], {
        description: 'rademacher: dense ±1/√d (O(D·d) per pair); sketch: count sketch (O(D) per pair, same E‖·‖²)',
      }),
      'rademacher',
    ),
    // Clusters and scores.
    k: withDefault(Type.Integer({ minimum: 1 }), 8),
    maxIter: withDefault(Type.Integer({ minimum: 1 }), 50),
    usefulness: withDefault(Type.Boolean({ description: 'false: score by informativeness only' }), true),
    weights: withDefault(
      Type.Object(
        {
          informativeness: withDefault(Type.Number(), 1),
          usefulness: withDefault(Type.Number(), 1),
          magnitude: withDefault(
            Type.Number({ description: "weight of the pair's projected gradient norm (z-scored over the pool)" }),
            0,
          ),
        },
        { additionalProperties: false },
      ),
      {},
    ),
    informativeness: withDefault(
      StringEnum(['centroid', 'distance'], {
        description: "centroid: cosine to the pair's own centroid (representative); distance: 1 - that (atypical)",
      }),
      'centroid',
    ),
    groupBy: Type.Optional(
      Type.String({
        description:
          "regular expression whose first capture group (or match) names a prompt's group; usefulness is then " +
          "taken against the validation (or pool) pairs of the pair's own group",
      }),
    ),
    aggregate: withDefault(StringEnum(['mean', 'max', 'sum'], { description: 'pair scores -> prompt score' }), 'mean'),
    // Depth allocation.
    temperature: withDefault(
      Type.Number({
        exclusiveMinimum: 0,
        description: 'allocation weight = exp(score / temperature); large = near uniform',
      }),
      0.1,
    ),
    ...budgetArgs,
    withinPrompt: withDefault(
      StringEnum(['score', 'gap'], {
        description:
          'which pairs a prompt keeps: best gradient scores (informativeness + usefulness), or largest reward gaps ' +
          'score_chosen - score_rejected (gradient score breaks ties)',
      }),
      'score',
    ),
    seed: withDefault(Type.Integer({ minimum: 0, description: 'projection, warm-up sample and k-means++ seed' }), 0),
    chunk: withDefault(Type.Integer({ minimum: 1, description: 'pairs per gradient/projection chunk' }), 16),
    maxLength: Type.Optional(
      Type.Integer({ minimum: 8, description: "tokens per sequence (default: the model's context)" }),
    ),
  },
  { additionalProperties: false },
);
type Args = ArgsOf<typeof gradientClusterArgs>;

/** What the feature pass reads: the same in every shard and in the merge. */
export type FeatureConfig = Pick<
  Args,
  'params' | 'beta' | 'projectionDim' | 'projection' | 'seed' | 'adam' | 'chunk' | 'maxLength'
>;

/** `last-block` → the last block's prefix (`transformer.h.<n>.`, `model.layers.<n>.`); others are name prefixes. */
export function paramPredicate(model: CausalLM, prefixes: string[]): (name: string) => boolean {
  const ps = prefixes.map((p) => (p === 'last-block' ? blockPrefix(model, model.config.n_layer - 1) : p));
  return (n) => ps.some((p) => n.startsWith(p));
}

const toPairs = (rows: PairRow[]): PreferencePair[] =>
  rows.map((r) => ({ prompt: r.prompt, chosen: r.chosen, rejected: r.rejected }));

function rawGrads(policy: CausalLM, ref: CausalLM, pairs: PreferencePair[], cfg: FeatureConfig): Float32Array[] {
  const refLogps = computeRefLogps(ref, pairs, { maxLength: cfg.maxLength });
  return perSampleGradFeatures(policy, pairs, refLogps, {
    paramFilter: paramPredicate(policy, cfg.params),
    beta: cfg.beta,
    maxLength: cfg.maxLength,
  }).features;
}

/** Projected features for `rows`, not yet normalized (the norms feed the magnitude score); moments apply first. */
async function featurize(
  ctx: StepContext,
  policy: CausalLM,
  ref: CausalLM,
  rows: PairRow[],
  cfg: FeatureConfig,
  moments: AdamMoments | undefined,
  report: (done: number) => void,
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let s = 0; s < rows.length; s += cfg.chunk) {
    let g = rawGrads(policy, ref, toPairs(rows.slice(s, s + cfg.chunk)), cfg);
    if (moments) g = g.map((x) => adamPrecondition(x, moments));
    out.push(...project(cfg.projection, g, cfg.projectionDim, cfg.seed));
    report(out.length);
    await breathe(ctx);
  }
  return out;
}

/** Warm-up moments from a seeded sample of the pool (the same in every shard). */
function warmup(policy: CausalLM, ref: CausalLM, rows: PairRow[], cfg: FeatureConfig): AdamMoments | undefined {
  if (!cfg.adam.enabled) return undefined;
  const rng = Rng.derive(cfg.seed, 0xada);
  const idx = rows.map((_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  const pick = idx.slice(0, Math.min(cfg.adam.warmupPairs, rows.length)).map((i) => rows[i]!);
  return warmupMoments(rawGrads(policy, ref, toPairs(pick), cfg), cfg.adam.batchSize);
}

async function loadModels(
  ctx: StepContext,
  args: Args,
): Promise<{ policy: CausalLM; ref: CausalLM; uris: string[]; dispose: () => void }> {
  await selectBackend();
  const { model: policy, uri } = await loadModelArtifact(ctx.store, args.model);
  if (args.ref === undefined || args.ref === args.model)
    return { policy, ref: policy, uris: [uri], dispose: () => policy.dispose() };
  const { model: ref, uri: refUri } = await loadModelArtifact(ctx.store, args.ref);
  return { policy, ref, uris: [uri, refUri], dispose: () => (policy.dispose(), ref.dispose()) };
}

const encodeFeatures = (f: Float32Array[], dim: number) => {
  const flat = new Float32Array(f.length * dim);
  f.forEach((v, i) => flat.set(v, i * dim));
  return Buffer.from(flat.buffer, flat.byteOffset, flat.byteLength).toString('base64');
};
const decodeFeatures = (b64: string, rows: number, dim: number): Float32Array[] => {
  const buf = Buffer.from(b64, 'base64');
  const flat = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  if (flat.length !== rows * dim)
    throw new Error(`feature artifact holds ${flat.length} floats, expected ${rows}×${dim}`);
  return Array.from({ length: rows }, (_, i) => flat.slice(i * dim, (i + 1) * dim));
};

/** Loaded policy and reference, with the warm-up moments the pool's features used (reused for validation). */
interface Models {
  policy: CausalLM;
  ref: CausalLM;
  moments: AdamMoments | undefined;
}

/** `groupBy` as a regular expression. */
function groupPattern(groupBy: string | undefined): RegExp | undefined {
  if (groupBy === undefined) return undefined;
  try {
    return new RegExp(groupBy);
  } catch (e) {
    throw new BadInput(`groupBy: not a regular expression: ${(e as Error).message}`);
  }
}

/** Clustering, scoring, allocation and outputs, given every pool feature (projected, not yet normalized). */
async function finalize(
  ctx: StepContext,
  args: Args,
  rows: PairRow[],
  projected: Float32Array[],
  cfg: FeatureConfig,
  models: Models | undefined,
  inputs: string[],
) {
  const { k, aggregate, temperature, minDepth, maxDepth, withinPrompt } = args;
  const weights = { ...args.weights, useUsefulness: args.usefulness };
  const mode = args.informativeness;
  const groupBy = groupPattern(args.groupBy);
  const budget = budgetOf(args, rows.length);
  const features = projected.map((v) => normalize(v));
  const magnitude = weights.magnitude ? magnitudeScores(projected.map((v) => norm(v))) : undefined;

  const clusters = kmeans(features, { k, seed: cfg.seed, maxIter: args.maxIter });
  const inf = informativeness(features, clusters.assign, clusters.centroids, mode);
  let use: number[] | undefined;
  let direction = 'pool';
  if (weights.useUsefulness) {
    let target = features;
    let targetRows = rows;
    if (typeof args.validation === 'string') {
      direction = 'validation';
      let own: { policy: CausalLM; ref: CausalLM; uris: string[]; dispose: () => void } | undefined;
      const m = models ?? (own = await loadModels(ctx, args));
      const moments = models ? models.moments : warmup(m.policy, m.ref, rows, cfg);
      try {
        const val = await readPairRows(ctx, args.validation);
        target = (await featurize(ctx, m.policy, m.ref, val, cfg, moments, () => undefined)).map((v) => normalize(v));
        targetRows = val;
        inputs.push(args.validation);
      } finally {
        own?.dispose();
      }
    }
    if (groupBy) {
      // Usefulness against the validation (or pool) pairs of the pair's own group, e.g. its task family.
      direction += ` per group of ${groupBy.source}`;
      const g = (r: PairRow[]) => r.map((x) => groupOf(groupBy, x.prompt));
      use = groupUsefulness(features, g(rows), target, g(targetRows));
    } else use = usefulness(features, optimizationDirection(target));
  }
  const scores = pairScores(inf, use, weights, magnitude);
  const byPrompt = promptScores(
    rows.map((r) => r.prompt),
    scores,
    aggregate,
  );
  const promptWeight = new Map([...byPrompt].map(([p, x]) => [p, scoreWeight(x.score, temperature)]));
  // Which pairs a prompt keeps: its best gradient scores (default), or its largest reward gaps (as the
  // uniform baseline does; gradient score breaks ties). Rows without scores have gap 0.
  const sel =
    withinPrompt === 'gap'
      ? selectDepth(
          rows.map((r) => r.prompt),
          rows.map((r) => r.gap ?? 0),
          promptWeight,
          { budget, minDepth, maxDepth },
          scores,
        )
      : selectDepth(
          rows.map((r) => r.prompt),
          scores,
          promptWeight,
          { budget, minDepth, maxDepth },
        );
  const data = await writeKeptPairs(ctx, rows, sel.keep, inputs, budget);
  const xy = pca2(features);
  const kept = new Set(sel.keep);
  const meta = { kind: 'report' as const, producer: producerOf(ctx), inputs };
  const clustersRef = await ctx.store.putJson(
    ctx.outputUri('clusters.json'),
    {
      k: clusters.k,
      dim: cfg.projectionDim,
      points: xy.map((p, i) => ({
        x: p.x,
        y: p.y,
        cluster: clusters.assign[i]!,
        prompt: rows[i]!.prompt,
        informativeness: inf[i]!,
        usefulness: use?.[i] ?? null,
        score: scores[i]!,
        kept: kept.has(i),
      })),
    },
    meta,
  );
  const allocRef = await ctx.store.putJson(
    ctx.outputUri('allocation.json'),
    {
      budget,
      minDepth,
      maxDepth,
      temperature,
      aggregate,
      direction,
      withinPrompt,
      informativeness: mode,
      weights,
      prompts: sel.prompts.map((p) => ({
        prompt: p.prompt,
        depth: p.depth,
        score: byPrompt.get(p.prompt)!.score,
        available: p.available,
      })),
    },
    meta,
  );
  const summary = selectionSummary(
    sel.prompts.map((p) => p.depth),
    rows.length,
  );
  return { data: data.uri, clusters: clustersRef.uri, allocation: allocRef.uri, budget, k: clusters.k, ...summary };
}

export const bpoGradientCluster = defineKind({
  kind: 'bpo.gradient-cluster',
  version: 'v1',
  description:
    'BPO core (our reconstruction): per-pair DPO-loss gradients over a parameter subset, optional Adam ' +
    'preconditioning (warm-up moments), seeded Rademacher or count-sketch projection, L2 norm; seeded k-means++; informativeness ' +
    '(cosine to own centroid) and usefulness (cosine to the normalized mean gradient of a validation set or the ' +
    "pool); each prompt's depth from a total pair budget in proportion to exp(score/temperature) within " +
    '[minDepth, maxDepth]; a prompt keeps its best-scoring pairs. The feature pass is shardable over `data`.',
  queue: 'cpu',
  shardable: { input: 'data' },
  args: gradientClusterArgs,
  outputs: {
    ...SELECTION_OUTPUTS,
    clusters: {
      type: 'artifact',
      description:
        'JSON {k, dim, points:[{x, y, cluster, prompt, informativeness, usefulness, score, kept}]}, x/y a 2-D PCA ' +
        'of the features',
    },
    allocation: { type: 'artifact', description: 'JSON {budget, …, prompts:[{prompt, depth, score, available}]}' },
    budget: { type: 'number', description: 'pair budget used' },
    k: { type: 'number', description: 'clusters used' },
    features: { type: 'artifact', description: '(shards only) projected features' },
    samples: { type: 'number', description: '(shards only) pairs featurized' },
  },
  async run(ctx, args) {
    const uri = args.data;
    const cfg: FeatureConfig = args;
    const rows = await readPairRows(ctx, uri);
    const [start, end] = shardRange(rows.length, ctx.shard);
    const models = await loadModels(ctx, args);
    try {
      const moments = warmup(models.policy, models.ref, rows, cfg);
      const mine = rows.slice(start, end);
      const features = await featurize(ctx, models.policy, models.ref, mine, cfg, moments, (done) =>
        ctx.progress({ done, total: mine.length, unit: 'samples' }),
      );
      if (ctx.shard) {
        const ref = await ctx.store.putJson(
          ctx.outputUri('features.json'),
          { start, end, dim: cfg.projectionDim, data: encodeFeatures(features, cfg.projectionDim) },
          { kind: 'other', producer: producerOf(ctx), inputs: [uri, ...models.uris] },
        );
        return { features: ref.uri, samples: features.length };
      }
      return await finalize(ctx, args, rows, features, cfg, { ...models, moments }, [uri, ...models.uris]);
    } finally {
      models.dispose();
    }
  },
  async merge(ctx, args, shards) {
    const uri = args.data;
    const cfg: FeatureConfig = args;
    const rows = await readPairRows(ctx, uri);
    const features: Float32Array[] = [];
    for (const s of shards) {
      const f = await ctx.store.readJson<{ start: number; end: number; dim: number; data: string }>(String(s.features));
      if (f.start !== features.length)
        throw new Error(`shard features out of order: expected start ${features.length}, got ${f.start}`);
      features.push(...decodeFeatures(f.data, f.end - f.start, f.dim));
    }
    if (features.length !== rows.length) throw new Error(`merged ${features.length} features for ${rows.length} pairs`);
    const model = args.model;
    return finalize(ctx, args, rows, features, cfg, undefined, [
      uri,
      ...(model.startsWith('s3://') ? [model] : []),
      ...shards.map((s) => String(s.features)),
    ]);
  },
});
