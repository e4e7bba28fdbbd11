// bpo.augment@v1 — depth augmentation: N responses per prompt from the policy
// or an OpenAI-compatible endpoint, scored by a reward, turned into pairs.
// Shardable over prompts (contiguous ranges of the distinct prompts; the merge
// concatenates in order).
import { openSampler, parseGeneratorSpec } from '../generators/index.js';
import { openScorer, parseRewardSpec } from '../rewards/index.js';
import { BadInput, shardRange, type StepKind } from '../step-kind.js';
import { breathe, producerOf } from '../steps/common.js';
import { groupByPrompt, int, readPromptRows, real, writeRows } from '../steps/bpo-common.js';

export type PairRule = 'best-vs-worst' | 'all-pairs';

export interface Scored {
  text: string;
  score: number;
}

/** Pairs from scored responses. Ties never pair; identical texts never pair. Pure. */
export function buildPairs(responses: Scored[], rule: PairRule, minGap = 0, maxPairs = 0): { chosen: Scored; rejected: Scored }[] {
  // One entry per distinct non-blank text (same text, same score for a deterministic reward; keep the
  // first). Blank responses cannot be written as a pair (TRL rows need non-empty completions).
  const seen = new Set<string>();
  const uniq = responses.filter((r) => (r.text.trim() === '' || seen.has(r.text) ? false : (seen.add(r.text), true)));
  const order = uniq.map((r, i) => ({ r, i })).sort((a, b) => b.r.score - a.r.score || a.i - b.i).map((x) => x.r);
  const ok = (c: Scored, r: Scored) => c.score - r.score > 0 && c.score - r.score >= minGap;
  let pairs: { chosen: Scored; rejected: Scored }[] = [];
  if (rule === 'best-vs-worst') {
    if (order.length >= 2 && ok(order[0]!, order.at(-1)!)) pairs.push({ chosen: order[0]!, rejected: order.at(-1)! });
  } else {
    for (let i = 0; i < order.length; i++) for (let j = i + 1; j < order.length; j++) if (ok(order[i]!, order[j]!)) pairs.push({ chosen: order[i]!, rejected: order[j]! });
    // Largest gaps first, stable.
    pairs = pairs.map((p, i) => ({ p, i })).sort((a, b) => b.p.chosen.score - b.p.rejected.score - (a.p.chosen.score - a.p.rejected.score) || a.i - b.i).map((x) => x.p);
  }
  return maxPairs > 0 ? pairs.slice(0, maxPairs) : pairs;
}

export const bpoAugment: StepKind = {
  kind: 'bpo.augment',
  version: 'v1',
  async run(ctx, args) {
    const uri = String(args.prompts);
    const n = int(args.n, 4, 'n', 2);
    const seed = int(args.seed, 0, 'seed');
    const rule = (args.pairing ?? 'best-vs-worst') as PairRule;
    if (rule !== 'best-vs-worst' && rule !== 'all-pairs') throw new BadInput(`pairing must be best-vs-worst or all-pairs, got ${JSON.stringify(rule)}`);
    const minGap = real(args.minGap, 0, 'minGap');
    const maxPairs = int(args.maxPairsPerPrompt, 0, 'maxPairsPerPrompt');
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
        if (kept.length >= 2) multi.push({ prompt, responses: kept, ...(references[i] !== undefined ? { reference: references[i] } : {}) });
        for (const p of buildPairs(scored, rule, minGap, maxPairs)) {
          pairs.push({ prompt, chosen: p.chosen.text, rejected: p.rejected.text, score_chosen: p.chosen.score, score_rejected: p.rejected.score });
        }
        ctx.progress({ done: i - start + 1, total: end - start, unit: 'prompts' });
        await breathe(ctx);
      }
    } finally {
      sampler.close();
      scorer.close();
    }
    const inputs = [uri, ...(gen.type === 'policy' ? [gen.model] : []), ...(reward.type === 'model' || reward.type === 'reward-model' ? [reward.model] : [])].filter((u) => u.startsWith('s3://'));
    const pairRef = await writeRows(ctx, 'pairs.jsonl', pairs, inputs);
    const multiRef = await writeRows(ctx, 'responses.jsonl', multi, inputs);
    const withPairs = new Set(pairs.map((p) => (p as { prompt: string }).prompt)).size;
    return { data: pairRef.uri, responses: multiRef.uri, prompts: end - start, promptsWithPairs: withPairs, pairs: pairs.length, samples: responses, blank, tokens: sampler.tokens };
  },
  async merge(ctx, args, shards) {
    const concat = async (key: 'data' | 'responses', name: string) => {
      const parts = await Promise.all(shards.map((s) => ctx.store.readBytes(String(s[key]))));
      return ctx.store.put(ctx.outputUri(name), Buffer.concat(parts), {
        kind: 'dataset',
        mediaType: 'application/x-ndjson',
        producer: producerOf(ctx),
        inputs: [String(args.prompts), ...shards.map((s) => String(s[key]))],
      });
    };
    const sum = (k: string) => shards.reduce((a, s) => a + Number(s[k] ?? 0), 0);
    const data = await concat('data', 'pairs.jsonl');
    const responses = await concat('responses', 'responses.jsonl');
    return { data: data.uri, responses: responses.uri, prompts: sum('prompts'), promptsWithPairs: sum('promptsWithPairs'), pairs: sum('pairs'), samples: sum('samples'), blank: sum('blank'), tokens: sum('tokens') };
  },
};
