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
import { blockPrefix, computeRefLogps, perSampleGradFeatures, Rng, selectBackend, type CausalLM, type PreferencePair } from '../../ml/index.js';
import {
  adamPrecondition,
  AllocationError,
  depthSelection,
  groupOf,
  groupUsefulness,
  informativeness,
  magnitudeScores,
  norm,
  kmeans,
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
  type InformativenessMode,
  type ProjectionKind,
  type PromptAggregate,
} from '../../ml/bpo/index.js';
import { BadInput, shardRange, type StepContext, type StepKind } from '../step-kind.js';
import { breathe, producerOf } from './common.js';
import { depthSummary, int, readPairRows, real, writeRows, type PairRow } from './bpo-common.js';
import { budgetOf } from './bpo-balance-length.js';
import { loadModelArtifact } from './model-io.js';

export interface FeatureConfig {
  params: string[];
  beta: number;
  projectionDim: number;
  projection: ProjectionKind;
  seed: number;
  adam: { enabled: boolean; warmupPairs: number; batchSize: number };
  chunk: number;
  maxLength?: number;
}

export function featureConfig(args: Record<string, unknown>): FeatureConfig {
  const adam = (args.adam ?? {}) as Record<string, unknown>;
  const params = args.params === undefined ? ['last-block', 'transformer.ln_f.'] : args.params;
  if (!Array.isArray(params) || params.length === 0 || !params.every((p) => typeof p === 'string')) throw new BadInput('params must be a non-empty list of parameter-name prefixes (or "last-block")');
  return {
    params: params as string[],
    beta: real(args.beta, 0.1, 'beta'),
    projectionDim: int(args.projectionDim, 256, 'projectionDim', 1),
    projection: projectionKind(args.projection),
    seed: int(args.seed, 0, 'seed'),
    adam: { enabled: adam.enabled !== false, warmupPairs: int(adam.warmupPairs, 32, 'adam.warmupPairs', 1), batchSize: int(adam.batchSize, 8, 'adam.batchSize', 1) },
    chunk: int(args.chunk, 16, 'chunk', 1),
    maxLength: args.maxLength === undefined ? undefined : int(args.maxLength, 0, 'maxLength', 8),
  };
}

function projectionKind(x: unknown): ProjectionKind {
  if (x === undefined || x === 'rademacher' || x === 'sketch') return x ?? 'rademacher';
  throw new BadInput(`projection must be rademacher or sketch, got ${JSON.stringify(x)}`);
}

/** `last-block` → the last block's prefix (`transformer.h.<n>.`, `model.layers.<n>.`); others are name prefixes. */
export function paramPredicate(model: CausalLM, prefixes: string[]): (name: string) => boolean {
  const ps = prefixes.map((p) => (p === 'last-block' ? blockPrefix(model, model.config.n_layer - 1) : p));
  return (n) => ps.some((p) => n.startsWith(p));
}

const toPairs = (rows: PairRow[]): PreferencePair[] => rows.map((r) => ({ prompt: r.prompt, chosen: r.chosen, rejected: r.rejected }));

function rawGrads(policy: CausalLM, ref: CausalLM, pairs: PreferencePair[], cfg: FeatureConfig): Float32Array[] {
  const refLogps = computeRefLogps(ref, pairs, { maxLength: cfg.maxLength });
  return perSampleGradFeatures(policy, pairs, refLogps, { paramFilter: paramPredicate(policy, cfg.params), beta: cfg.beta, maxLength: cfg.maxLength }).features;
}

/** Projected features for `rows`, not yet normalized (the norms feed the magnitude score); moments apply first. */
async function featurize(ctx: StepContext, policy: CausalLM, ref: CausalLM, rows: PairRow[], cfg: FeatureConfig, moments: AdamMoments | undefined, report: (done: number) => void): Promise<Float32Array[]> {
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

async function loadModels(ctx: StepContext, args: Record<string, unknown>): Promise<{ policy: CausalLM; ref: CausalLM; uris: string[]; dispose: () => void }> {
  await selectBackend();
  const { model: policy, uri } = await loadModelArtifact(ctx.store, String(args.model));
  if (args.ref === undefined || args.ref === args.model) return { policy, ref: policy, uris: [uri], dispose: () => policy.dispose() };
  const { model: ref, uri: refUri } = await loadModelArtifact(ctx.store, String(args.ref));
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
  if (flat.length !== rows * dim) throw new Error(`feature artifact holds ${flat.length} floats, expected ${rows}×${dim}`);
  return Array.from({ length: rows }, (_, i) => flat.slice(i * dim, (i + 1) * dim));
};

/** Loaded policy and reference, with the warm-up moments the pool's features used (reused for validation). */
interface Models {
  policy: CausalLM;
  ref: CausalLM;
  moments: AdamMoments | undefined;
}

/** `groupBy`: a regular expression whose first capture group (or match) names a prompt's group. */
function groupPattern(args: Record<string, unknown>): RegExp | undefined {
  if (args.groupBy === undefined) return undefined;
  try {
    return new RegExp(String(args.groupBy));
  } catch (e) {
    throw new BadInput(`groupBy: not a regular expression: ${(e as Error).message}`);
  }
}

/** Clustering, scoring, allocation and outputs, given every pool feature (projected, not yet normalized). */
async function finalize(ctx: StepContext, args: Record<string, unknown>, rows: PairRow[], projected: Float32Array[], cfg: FeatureConfig, models: Models | undefined, inputs: string[]) {
  const k = int(args.k, 8, 'k', 1);
  const w = (args.weights ?? {}) as Record<string, unknown>;
  const weights = {
    informativeness: real(w.informativeness, 1, 'weights.informativeness'),
    usefulness: real(w.usefulness, 1, 'weights.usefulness'),
    magnitude: real(w.magnitude, 0, 'weights.magnitude'),
    useUsefulness: args.usefulness !== false,
  };
  const mode = (args.informativeness ?? 'centroid') as InformativenessMode;
  if (mode !== 'centroid' && mode !== 'distance') throw new BadInput(`informativeness must be centroid or distance, got ${JSON.stringify(mode)}`);
  const groupBy = groupPattern(args);
  const features = projected.map((v) => normalize(v));
  const magnitude = weights.magnitude ? magnitudeScores(projected.map((v) => norm(v))) : undefined;
  const aggregate = (args.aggregate ?? 'mean') as PromptAggregate;
  if (!['mean', 'max', 'sum'].includes(aggregate)) throw new BadInput(`aggregate must be mean, max or sum, got ${JSON.stringify(aggregate)}`);
  const temperature = real(args.temperature, 0.1, 'temperature');
  const budget = budgetOf(args, rows.length);
  const minDepth = int(args.minDepth, 1, 'minDepth');
  const maxDepth = int(args.maxDepth, 8, 'maxDepth', 1);
  const withinPrompt = args.withinPrompt ?? 'score';
  if (withinPrompt !== 'score' && withinPrompt !== 'gap') throw new BadInput(`withinPrompt must be score or gap, got ${JSON.stringify(withinPrompt)}`);

  const clusters = kmeans(features, { k, seed: cfg.seed, maxIter: int(args.maxIter, 50, 'maxIter', 1) });
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
  const byPrompt = promptScores(rows.map((r) => r.prompt), scores, aggregate);
  const promptWeight = new Map([...byPrompt].map(([p, x]) => [p, scoreWeight(x.score, temperature)]));
  let sel;
  try {
    // Which pairs a prompt keeps: its best gradient scores (default), or its largest reward gaps (as the
    // uniform baseline does; gradient score breaks ties). Rows without scores have gap 0.
    sel =
      withinPrompt === 'gap'
        ? depthSelection(rows.map((r) => r.prompt), rows.map((r) => r.gap ?? 0), promptWeight, { budget, minDepth, maxDepth }, scores)
        : depthSelection(rows.map((r) => r.prompt), scores, promptWeight, { budget, minDepth, maxDepth });
  } catch (e) {
    if (e instanceof AllocationError) throw new BadInput(e.message);
    throw e;
  }
  const data = await writeRows(ctx, 'pairs.jsonl', sel.keep.map((i) => rows[i]!.raw), inputs, { budget });
  const xy = pca2(features);
  const kept = new Set(sel.keep);
  const meta = { kind: 'report' as const, producer: producerOf(ctx), inputs };
  const clustersRef = await ctx.store.putJson(
    ctx.outputUri('clusters.json'),
    {
      k: clusters.k,
      dim: cfg.projectionDim,
      points: xy.map((p, i) => ({ x: p.x, y: p.y, cluster: clusters.assign[i]!, prompt: rows[i]!.prompt, informativeness: inf[i]!, usefulness: use?.[i] ?? null, score: scores[i]!, kept: kept.has(i) })),
    },
    meta,
  );
  const allocRef = await ctx.store.putJson(
    ctx.outputUri('allocation.json'),
    { budget, minDepth, maxDepth, temperature, aggregate, direction, withinPrompt, informativeness: mode, weights, prompts: sel.prompts.map((p) => ({ prompt: p.prompt, depth: p.depth, score: byPrompt.get(p.prompt)!.score, available: p.available })) },
    meta,
  );
  const s = depthSummary(sel.prompts.map((p) => p.depth));
  return {
    data: data.uri,
    clusters: clustersRef.uri,
    allocation: allocRef.uri,
    pairs: s.pairs,
    prompts: s.prompts,
    poolPairs: rows.length,
    budget,
    k: clusters.k,
    depthHistogram: JSON.stringify(s.histogram),
  };
}

export const bpoGradientCluster: StepKind = {
  kind: 'bpo.gradient-cluster',
  version: 'v1',
  async run(ctx, args) {
    const uri = String(args.data);
    const cfg = featureConfig(args);
    const rows = await readPairRows(ctx, uri);
    const [start, end] = shardRange(rows.length, ctx.shard);
    const models = await loadModels(ctx, args);
    try {
      const moments = warmup(models.policy, models.ref, rows, cfg);
      const mine = rows.slice(start, end);
      const features = await featurize(ctx, models.policy, models.ref, mine, cfg, moments, (done) => ctx.progress({ done, total: mine.length, unit: 'samples' }));
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
    const uri = String(args.data);
    const cfg = featureConfig(args);
    const rows = await readPairRows(ctx, uri);
    const features: Float32Array[] = [];
    for (const s of shards) {
      const f = await ctx.store.readJson<{ start: number; end: number; dim: number; data: string }>(String(s.features));
      if (f.start !== features.length) throw new Error(`shard features out of order: expected start ${features.length}, got ${f.start}`);
      features.push(...decodeFeatures(f.data, f.end - f.start, f.dim));
    }
    if (features.length !== rows.length) throw new Error(`merged ${features.length} features for ${rows.length} pairs`);
    const model = String(args.model);
    return finalize(ctx, args, rows, features, cfg, undefined, [uri, ...(model.startsWith('s3://') ? [model] : []), ...shards.map((s) => String(s.features))]);
  },
};
