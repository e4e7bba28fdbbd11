// bpo.augment@v1 — depth augmentation: N responses per prompt from the policy
// or an OpenAI-compatible endpoint, scored by a reward, turned into pairs.
// Shardable over prompts (contiguous ranges of the distinct prompts; the merge
// concatenates in order).
import { GENERATOR_DEFAULTS, openSampler, parseGeneratorSpec } from '../generators/index.js';
import { openScorer, parseRewardSpec, REWARD_DEFAULTS } from '../rewards/index.js';
import { VERIFIERS } from '../rewards/verifiers.js';
import { StringEnum, Type, withDefault } from '../kind-schema.js';
import { defineKind, shardRange } from '../step-kind.js';
import { breathe, producerOf } from '../steps/common.js';
import { groupByPrompt, readPromptRows, writeRows } from '../steps/bpo-common.js';

export type PairRule = 'best-vs-worst' | 'all-pairs';

export interface Scored {
  text: string;
  score: number;
}

/** Pairs from scored responses. Ties never pair; identical texts never pair. Pure. */
export function buildPairs(
  responses: Scored[],
  rule: PairRule,
  minGap = 0,
  maxPairs = 0,
): { chosen: Scored; rejected: Scored }[] {
  // One entry per distinct non-blank text (same text, same score for a deterministic reward; keep the
  // first). Blank responses cannot be written as a pair (TRL rows need non-empty completions).
  const seen = new Set<string>();
  const uniq = responses.filter((r) => (r.text.trim() === '' || seen.has(r.text) ? false : (seen.add(r.text), true)));
  const order = uniq
    .map((r, i) => ({ r, i }))
    .sort((a, b) => b.r.score - a.r.score || a.i - b.i)
    .map((x) => x.r);
  const ok = (c: Scored, r: Scored) => c.score - r.score > 0 && c.score - r.score >= minGap;
  let pairs: { chosen: Scored; rejected: Scored }[] = [];
  if (rule === 'best-vs-worst') {
    if (order.length >= 2 && ok(order[0]!, order.at(-1)!)) pairs.push({ chosen: order[0]!, rejected: order.at(-1)! });
  } else {
    for (let i = 0; i < order.length; i++)
      for (let j = i + 1; j < order.length; j++)
        if (ok(order[i]!, order[j]!)) pairs.push({ chosen: order[i]!, rejected: order[j]! });
    // Largest gaps first, stable.
    pairs = pairs
      .map((p, i) => ({ p, i }))
      .sort((a, b) => b.p.chosen.score - b.p.rejected.score - (a.p.chosen.score - a.p.rejected.score) || a.i - b.i)
      .map((x) => x.p);
  }
  return maxPairs > 0 ? pairs.slice(0, maxPairs) : pairs;
}

const API_KEY_ENV = '^[A-Za-z_][A-Za-z0-9_]*$';

/** Parsed, with its sampling defaults, by generators/index.ts. */
const generatorArg = Type.Object(
  {
    type: StringEnum(['policy', 'openai']),
    model: Type.String({
      description: 'policy: model artifact (s3:// or channel://); openai: model name sent to the endpoint',
    }),
    temperature: Type.Optional(Type.Number({ minimum: 0, description: `(default ${GENERATOR_DEFAULTS.temperature})` })),
    topK: Type.Optional(Type.Integer({ minimum: 0, description: `(default ${GENERATOR_DEFAULTS.topK})` })),
    topP: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, maximum: 1, description: `(default ${GENERATOR_DEFAULTS.topP})` }),
    ),
    maxNewTokens: Type.Optional(
      Type.Integer({ minimum: 1, description: `(default ${GENERATOR_DEFAULTS.maxNewTokens})` }),
    ),
    stop: Type.Optional(
      Type.Array(Type.String(), { description: `(default ${JSON.stringify(GENERATOR_DEFAULTS.stop)})` }),
    ),
    url: Type.Optional(Type.String({ description: 'base URL or …/v1/chat/completions' })),
    apiKeyEnv: Type.Optional(
      Type.String({
        pattern: API_KEY_ENV,
        description: 'NAME of the worker environment variable holding the API key (never the key)',
      }),
    ),
    concurrency: Type.Optional(
      Type.Integer({ minimum: 1, description: `(default ${GENERATOR_DEFAULTS.concurrency})` }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'type policy: {model (s3:// or channel://), sampling}; type openai: {url, model, apiKeyEnv?, concurrency?, sampling}. ' +
      'Sampling: temperature, topK, topP, maxNewTokens, stop',
  },
);

/** Parsed by rewards/index.ts. */
const rewardArg = Type.Object(
  {
    type: StringEnum(['verifier', 'reward-model', 'model', 'judge']),
    name: Type.Optional(
      StringEnum(Object.keys(VERIFIERS), {
        description: 'registered programmatic verifier',
      }),
    ),
    model: Type.Optional(
      Type.String({
        description:
          'reward-model: reward model artifact (s3:// or channel://); model: language model artifact; ' +
          'judge: model name sent to the endpoint',
      }),
    ),
    ref: Type.Optional(
      Type.String({
        description:
          'reference model: reward = beta*(log pi - log pi_ref); without it, mean token log-prob under `model`',
      }),
    ),
    beta: Type.Optional(Type.Number({ description: `(default ${REWARD_DEFAULTS.beta})` })),
    batchSize: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: `reward-model: sequences per forward pass (default ${REWARD_DEFAULTS.batchSize})`,
      }),
    ),
    url: Type.Optional(Type.String()),
    rubric: Type.Optional(Type.String()),
    apiKeyEnv: Type.Optional(Type.String({ pattern: API_KEY_ENV })),
    maxScore: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: `(default ${REWARD_DEFAULTS.maxScore})` })),
    concurrency: Type.Optional(Type.Integer({ minimum: 1, description: `(default ${REWARD_DEFAULTS.concurrency})` })),
  },
  {
    additionalProperties: false,
    description:
      'type reward-model: {model, batchSize?} (a model.reward@v1 output: its Bradley–Terry score); type verifier: {name}; ' +
      'type model: {model, ref?, beta?} (likelihood or implicit DPO reward of a language model); ' +
      'type judge: {url, model, rubric?, apiKeyEnv?, maxScore?, concurrency?}',
  },
);

export const bpoAugment = defineKind({
  kind: 'bpo.augment',
  version: 'v1',
  description:
    'BPO depth augmentation: sample n responses per distinct prompt from the policy or an OpenAI-compatible endpoint, ' +
    'score each with a reward (verifier by name, learned reward model, or judge endpoint), and build preference pairs ' +
    '(best-vs-worst, or all-pairs with minGap). Shardable over prompts; heartbeats prompts done.',
  queue: 'cpu',
  shardable: { input: 'prompts' },
  args: Type.Object(
    {
      prompts: Type.String({
        description:
          's3:// URI of a JSONL dataset whose rows carry a prompt (an optional string `reference` is passed to ' +
          'verifiers)',
      }),
      generator: generatorArg,
      reward: rewardArg,
      n: withDefault(Type.Integer({ minimum: 2, description: 'responses per prompt' }), 4),
      pairing: withDefault(StringEnum(['best-vs-worst', 'all-pairs']), 'best-vs-worst'),
      minGap: withDefault(
        Type.Number({
          minimum: 0,
          description: 'all-pairs: keep a pair only if score(chosen) - score(rejected) >= minGap (and > 0)',
        }),
        0,
      ),
      maxPairsPerPrompt: withDefault(
        Type.Integer({ minimum: 0, description: '0 = no cap; otherwise the largest gaps' }),
        0,
      ),
      seed: withDefault(
        Type.Integer({
          minimum: 0,
          description: "sampling seed; each prompt's stream derives from (seed, prompt index), so shards agree",
        }),
        0,
      ),
    },
    { additionalProperties: false },
  ),
  outputs: {
    data: { type: 'artifact', description: 'pairs {prompt, chosen, rejected, score_chosen, score_rejected}' },
    responses: {
      type: 'artifact',
      description:
        'multi-response rows {prompt, responses:[{text, score}]} (prompts with at least two non-blank responses)',
    },
    prompts: { type: 'number', description: 'prompts processed' },
    promptsWithPairs: { type: 'number', description: 'prompts that produced at least one pair' },
    pairs: { type: 'number', description: 'pairs built' },
    samples: { type: 'number', description: 'responses generated' },
    tokens: { type: 'number', description: 'tokens generated (policy generator)' },
    blank: { type: 'number', description: 'blank responses (counted, never paired or written)' },
  },
  async run(ctx, args) {
    const { prompts: uri, n, seed, pairing: rule, minGap, maxPairsPerPrompt: maxPairs } = args;
    const gen = parseGeneratorSpec(args.generator);
    const reward = parseRewardSpec(args.reward);
    const rows = await readPromptRows(ctx, uri);
    const groups = groupByPrompt(rows);
    const prompts = [...groups.keys()];
    const references = prompts.map((p) => {
      const ref = rows[groups.get(p)![0]!]!.raw.reference;
      return typeof ref === 'string' ? ref : undefined;
    });
    const [start, end] = shardRange(prompts.length, ctx.shard);
    const sampler = await openSampler(gen, { store: ctx.store, seed, signal: ctx.signal });
    const scorer = await openScorer(reward, { store: ctx.store, signal: ctx.signal }).catch((e: unknown) => {
      sampler.close();
      throw e;
    });
    const multi: unknown[] = [];
    const pairs: unknown[] = [];
    let responses = 0;
    let blank = 0;
    try {
      for (let i = start; i < end; i++) {
        const prompt = prompts[i]!;
        const texts = await sampler.sample(prompt, i, n);
        const [scores] = await scorer.score([{ prompt, responses: texts, reference: references[i] }]);
        const scored = texts.map((t, j) => ({ text: t, score: scores![j]! }));
        responses += scored.length;
        const kept = scored.filter((x) => x.text.trim() !== '');
        blank += scored.length - kept.length;
        // A valid multi-response row needs two non-blank responses; blank samples are counted, not written.
        if (kept.length >= 2)
          multi.push({ prompt, responses: kept, ...(references[i] !== undefined ? { reference: references[i] } : {}) });
        for (const p of buildPairs(scored, rule, minGap, maxPairs)) {
          pairs.push({
            prompt,
            chosen: p.chosen.text,
            rejected: p.rejected.text,
            score_chosen: p.chosen.score,
            score_rejected: p.rejected.score,
          });
        }
        ctx.progress({ done: i - start + 1, total: end - start, unit: 'prompts' });
        await breathe(ctx);
      }
    } finally {
      sampler.close();
      scorer.close();
    }
    const inputs = [
      uri,
      ...(gen.type === 'policy' ? [gen.model] : []),
      ...(reward.type === 'model' || reward.type === 'reward-model' ? [reward.model] : []),
    ].filter((u) => u.startsWith('s3://'));
    const pairRef = await writeRows(ctx, 'pairs.jsonl', pairs, inputs);
    const multiRef = await writeRows(ctx, 'responses.jsonl', multi, inputs);
    const withPairs = new Set(pairs.map((p) => (p as { prompt: string }).prompt)).size;
    return {
      data: pairRef.uri,
      responses: multiRef.uri,
      prompts: end - start,
      promptsWithPairs: withPairs,
      pairs: pairs.length,
      samples: responses,
      blank,
      tokens: sampler.tokens,
    };
  },
  async merge(ctx, args, shards) {
    const concat = async (key: 'data' | 'responses', name: string) => {
      const parts = await Promise.all(shards.map((s) => ctx.store.readBytes(String(s[key]))));
      return ctx.store.put(ctx.outputUri(name), Buffer.concat(parts), {
        kind: 'dataset',
        mediaType: 'application/x-ndjson',
        producer: producerOf(ctx),
        inputs: [args.prompts, ...shards.map((s) => String(s[key]))],
      });
    };
    const sum = (k: string) => shards.reduce((a, s) => a + Number(s[k] ?? 0), 0);
    const data = await concat('data', 'pairs.jsonl');
    const responses = await concat('responses', 'responses.jsonl');
    return {
      data: data.uri,
      responses: responses.uri,
      prompts: sum('prompts'),
      promptsWithPairs: sum('promptsWithPairs'),
      pairs: sum('pairs'),
      samples: sum('samples'),
      blank: sum('blank'),
      tokens: sum('tokens'),
    };
  },
});
