// eval.generate@v1: sample the policy and the reference on held-out prompts
// (seeded), score every sample with a reward (a registered verifier by name, or
// a reward spec), and report: mean reward, exact accuracy (reward == 1), win
// rate of the policy's samples against the reference's (ties count ½), and a
// KL estimate: Σ over the policy's sampled tokens of log π − log π_ref, divided
// by the number of tokens (tokens scored include the EOS the sampler emitted;
// a sample cut by maxNewTokens or a stop string is scored as if it ended there).
// KL is only an estimate of KL(π‖π_ref) at temperature 1 and top-p 1.
import { VERIFIERS } from '../rewards/verifiers.js';
import { generateTokens, tokenizerOf, type CausalLM } from '../../ml/index.js';
import { Type, withDefault } from '../kind-schema.js';
import { parseRewardSpec, scoreResponses, type RewardSpec, type ScoreItem } from '../rewards/index.js';
import { BadInput, defineKind, type StepContext } from '../step-kind.js';
import { dataArg, FORMAT_DESCRIPTION, formatArg, modelArg } from '../steps/args.js';
import {
  assertNotCancelled,
  breathe,
  chunkedLogProbs,
  completionText,
  loadDataset,
  writeEvalReport,
  recordPrompt,
} from '../steps/common.js';
import { loadModelArtifact } from '../steps/model-io.js';

interface Prompt {
  prompt: string;
  reference?: string;
}

interface SampleOpts {
  samples: number;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  stop: string[];
  seed: number;
  batch: number;
}

/** Samples `samples` responses per prompt, in fixed chunks so the result doesn't depend on anything but the seed. */
async function sampleAll(
  ctx: StepContext,
  model: CausalLM,
  prompts: Prompt[],
  o: SampleOpts,
  label: string,
): Promise<string[][]> {
  const tok = tokenizerOf(model);
  const flat = prompts.flatMap((p) => Array.from({ length: o.samples }, () => p.prompt));
  const texts: string[] = [];
  for (let i = 0, chunk = 0; i < flat.length; i += o.batch, chunk++) {
    assertNotCancelled(ctx);
    const r = generateTokens(model, tok, flat.slice(i, i + o.batch), {
      maxNewTokens: o.maxNewTokens,
      temperature: o.temperature,
      topP: o.topP,
      topK: o.topK,
      stop: o.stop,
      seed: o.seed * 1_000_003 + chunk,
    });
    texts.push(...r.texts);
    ctx.progress({
      message: `sampling ${label}`,
      done: Math.min(flat.length, i + o.batch),
      total: flat.length,
      unit: 'samples',
    });
    await breathe(ctx);
  }
  return prompts.map((_, i) => texts.slice(i * o.samples, (i + 1) * o.samples));
}

const meanOf = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const metric = (description: string) => ({ type: 'number', description, report: 'metric' }) as const;

export const evalGenerate = defineKind({
  kind: 'eval.generate',
  version: 'v1',
  description:
    'Sample a policy and its reference on held-out prompts (seeded), score the samples with a reward, and report ' +
    'mean reward, exact accuracy, win rate vs the reference and a KL(π‖π_ref) estimate.',
  queue: 'gpu',
  args: Type.Object(
    {
      data: dataArg('held-out dataset; its unique prompts are used (pairs, multi or chat)'),
      format: formatArg(FORMAT_DESCRIPTION),
      model: modelArg('policy: s3:// model bundle or channel://<name>'),
      reference: modelArg('reference model: its samples are the win-rate baseline and its log-probs the KL baseline'),
      reward: Type.Unsafe<unknown>({
        description:
          `a registered verifier by name (${Object.keys(VERIFIERS).join(', ')}), ` +
          'or a reward spec {type: verifier|reward-model|model|judge, …}',
        oneOf: [
          { type: 'string', minLength: 1 },
          {
            type: 'object',
            required: ['type'],
            properties: { type: { enum: ['verifier', 'reward-model', 'model', 'judge'] } },
          },
        ],
      }),
      referenceAnswers: withDefault(
        Type.Boolean({
          description:
            "pass each prompt's chosen (best) response to the verifier as the reference answer (needed by exact / " +
            'reference-chars)',
        }),
        false,
      ),
      maxPrompts: withDefault(
        Type.Integer({ minimum: 1, description: 'evaluate at most this many unique prompts (first ones)' }),
        64,
      ),
      samples: withDefault(Type.Integer({ minimum: 1, description: 'samples per prompt and model' }), 1),
      maxNewTokens: withDefault(Type.Integer({ minimum: 1, description: 'new tokens per sample' }), 16),
      temperature: withDefault(
        Type.Number({
          minimum: 0,
          description: 'sampling temperature (0 = greedy); KL is exact in expectation only at 1',
        }),
        1,
      ),
      topP: withDefault(Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'nucleus sampling' }), 1),
      topK: withDefault(Type.Integer({ minimum: 0, description: 'top-k (0 = off)' }), 0),
      stop: withDefault(
        Type.Array(Type.String({ minLength: 1 }), { description: 'stop strings (the sample is cut before them)' }),
        ['\n'],
      ),
      seed: withDefault(Type.Integer({ minimum: 0, description: 'sampling seed' }), 0),
      batchSize: withDefault(Type.Integer({ minimum: 1, description: 'prompts sampled together' }), 16),
    },
    { additionalProperties: false },
  ),
  outputs: {
    eval: { type: 'artifact', description: 'JSON report with the metrics and up to 20 example samples' },
    meanReward: metric("mean reward of the policy's samples"),
    referenceMeanReward: metric("mean reward of the reference's samples"),
    accuracy: metric('fraction of policy samples with reward == 1'),
    winRate: metric("fraction of (prompt, sample) where the policy's reward beats the reference's (ties ½)"),
    kl: metric("mean over the policy's sampled tokens of log π − log π_ref (nats/token)"),
  },
  async run(ctx, a) {
    const { data } = a;
    const spec: RewardSpec =
      typeof a.reward === 'string' ? parseRewardSpec({ type: 'verifier', name: a.reward }) : parseRewardSpec(a.reward);
    const { samples, maxNewTokens, temperature, topP, topK, stop, seed } = a;
    const o: SampleOpts = { samples, maxNewTokens, temperature, topP, topK, stop, seed, batch: a.batchSize };
    const useReference = a.referenceAnswers;
    const { records } = await loadDataset(ctx, data, a.format);
    // Unique prompts in order of first appearance; the first chosen/best response is the reference answer.
    const seen = new Map<string, Prompt>();
    for (const r of records) {
      const p = recordPrompt(r);
      if (seen.has(p)) continue;
      const ref =
        r.kind === 'pair'
          ? completionText(r.chosen)
          : r.kind === 'multi'
            ? completionText([...r.responses].sort((x, y) => (y.score ?? 0) - (x.score ?? 0))[0]!.text)
            : r.messages.filter((m) => m.role === 'assistant').at(-1)?.content;
      seen.set(p, { prompt: p, ...(useReference && ref !== undefined ? { reference: ref } : {}) });
    }
    const prompts = [...seen.values()].slice(0, a.maxPrompts);
    if (prompts.length === 0) throw new BadInput(`${data}: no prompts`);

    const policy = await loadModelArtifact(ctx.store, a.model);
    const reference = await loadModelArtifact(ctx.store, a.reference);
    try {
      const polSamples = await sampleAll(ctx, policy.model, prompts, o, 'policy');
      const refSamples = await sampleAll(ctx, reference.model, prompts, o, 'reference');
      const items = (samples: string[][]): ScoreItem[] =>
        prompts.map((p, i) => ({
          prompt: p.prompt,
          responses: samples[i]!,
          ...(p.reference !== undefined ? { reference: p.reference } : {}),
        }));
      ctx.progress({ message: 'scoring', done: 0, total: prompts.length * 2, unit: 'prompts' });
      const polScores = await scoreResponses(spec, items(polSamples), { store: ctx.store, signal: ctx.signal });
      const refScores = await scoreResponses(spec, items(refSamples), { store: ctx.store, signal: ctx.signal });

      // KL estimate on the policy's own samples.
      const seqs = prompts.flatMap((p, i) => polSamples[i]!.map((s) => ({ prompt: p.prompt, response: s })));
      const lp = await chunkedLogProbs(ctx, policy.model, seqs, { label: 'KL: policy log-probs' });
      const lr = await chunkedLogProbs(ctx, reference.model, seqs, { label: 'KL: reference log-probs' });
      let klSum = 0;
      let klTokens = 0;
      for (let j = 0; j < seqs.length; j++) {
        klSum += lp.sum[j]! - lr.sum[j]!;
        klTokens += lp.tokens[j]!;
      }

      let n = 0,
        reward = 0,
        exact = 0,
        wins = 0,
        refReward = 0;
      for (let i = 0; i < prompts.length; i++) {
        for (let s = 0; s < o.samples; s++) {
          const p = polScores[i]![s]!;
          const r = refScores[i]![s]!;
          n++;
          reward += p;
          refReward += r;
          exact += p === 1 ? 1 : 0;
          wins += p > r ? 1 : p === r ? 0.5 : 0;
        }
      }
      const report = {
        prompts: prompts.length,
        samples: n,
        reward: spec.type === 'verifier' ? { type: 'verifier', name: spec.name } : { type: spec.type },
        sampling: o,
        meanReward: reward / n,
        referenceMeanReward: refReward / n,
        accuracy: exact / n,
        winRate: wins / n,
        kl: klSum / Math.max(1, klTokens),
        klTokens,
        model: policy.uri,
        reference: reference.uri,
        // Per prompt (mean over its samples): what paired tests and per-task breakdowns need.
        perPrompt: prompts.map((p, i) => ({
          prompt: p.prompt,
          reward: meanOf(polScores[i]!),
          referenceReward: meanOf(refScores[i]!),
        })),
        examples: prompts.slice(0, 20).map((p, i) => ({
          prompt: p.prompt,
          policy: polSamples[i],
          reference: refSamples[i],
          policyReward: polScores[i],
          referenceReward: refScores[i],
        })),
      };
      return {
        eval: await writeEvalReport(ctx, report, [data, policy.uri, reference.uri]),
        meanReward: report.meanReward,
        accuracy: report.accuracy,
        winRate: report.winRate,
        kl: report.kl,
        referenceMeanReward: report.referenceMeanReward,
      };
    } finally {
      policy.model.dispose();
      reference.model.dispose();
    }
  },
});
