// Rewards for bpo.augment (and eval.generate): a programmatic verifier named
// from a registry, a trained Bradley–Terry reward model (model.reward), a
// likelihood / implicit-DPO reward from a language model, or an
// OpenAI-compatible judge. `scoreResponses` scores many responses per prompt.
import { DPO_DEFAULTS, logProbs, scoreTexts, selectBackend } from '../../ml/index.js';
import type { ArtifactStore } from '../../store/artifacts.js';
import { loadModelArtifact, loadRewardModelArtifact } from '../steps/model-io.js';
import { BadInput } from '../step-kind.js';
import { DEFAULT_MAX_SCORE, judgeScore, type JudgeSpec } from './judge.js';
import { getVerifier, verifierNames, VERIFIERS } from './verifiers.js';

export { getVerifier } from './verifiers.js';
export { parseJudgeScore } from './judge.js';

/** What a reward spec leaves out (bpo.augment's schema quotes these in its descriptions). */
export const REWARD_DEFAULTS = { batchSize: 16, concurrency: 4, maxScore: DEFAULT_MAX_SCORE, beta: DPO_DEFAULTS.beta };

export type RewardSpec =
  | { type: 'verifier'; name: string }
  /**
   * A learned reward from a bpoflow model: the mean per-token log-prob of the
   * response under `model` (ours: a likelihood reward, e.g. an SFT model of good
   * answers); with `ref`, the DPO implicit reward β·(log π(y|x) − log π_ref(y|x)).
   */
  | { type: 'model'; model: string; ref?: string; beta?: number }
  /** A Bradley–Terry reward model (model.reward@v1, or a GPT2ForSequenceClassification bundle): its scalar score. */
  | { type: 'reward-model'; model: string; batchSize?: number }
  | ({ type: 'judge'; concurrency?: number } & JudgeSpec);

export function parseRewardSpec(v: unknown): RewardSpec {
  const o = (v ?? {}) as Record<string, unknown>;
  switch (o.type) {
    case 'verifier':
      if (typeof o.name !== 'string' || !VERIFIERS[o.name])
        throw new BadInput(`reward.name must be one of ${verifierNames().join(', ')}, got ${JSON.stringify(o.name)}`);
      return { type: 'verifier', name: o.name };
    case 'model':
      if (typeof o.model !== 'string') throw new BadInput('reward.model must be a model URI');
      return {
        type: 'model',
        model: o.model,
        ref: typeof o.ref === 'string' ? o.ref : undefined,
        beta: typeof o.beta === 'number' ? o.beta : undefined,
      };
    case 'reward-model':
      if (typeof o.model !== 'string')
        throw new BadInput('reward.model must be the URI of a reward model (the output of model.reward@v1)');
      if (
        o.batchSize !== undefined &&
        (typeof o.batchSize !== 'number' || !Number.isInteger(o.batchSize) || o.batchSize < 1)
      )
        throw new BadInput(`reward.batchSize must be a positive integer, got ${JSON.stringify(o.batchSize)}`);
      return {
        type: 'reward-model',
        model: o.model,
        ...(typeof o.batchSize === 'number' ? { batchSize: o.batchSize } : {}),
      };
    case 'judge':
      if (typeof o.url !== 'string' || typeof o.model !== 'string')
        throw new BadInput('reward judge needs url and model');
      return {
        type: 'judge',
        url: o.url,
        model: o.model,
        rubric: typeof o.rubric === 'string' ? o.rubric : undefined,
        apiKeyEnv: typeof o.apiKeyEnv === 'string' ? o.apiKeyEnv : undefined,
        maxScore: typeof o.maxScore === 'number' ? o.maxScore : undefined,
        concurrency: typeof o.concurrency === 'number' ? o.concurrency : undefined,
      };
    default:
      throw new BadInput(`reward.type must be verifier, reward-model, model or judge, got ${JSON.stringify(o.type)}`);
  }
}

export interface ScoreItem {
  prompt: string;
  responses: string[];
  /** Reference answer, for verifiers that use one. */
  reference?: string;
}

export interface ScoreOptions {
  store?: ArtifactStore;
  signal?: AbortSignal;
  /** Called with the number of items scored so far. */
  onProgress?: (done: number) => void;
  /** Filled in: judge replies without a number (scored 0). */
  stats?: { unparsed: number };
}

/** Scores batches of items with one reward; models are loaded once, when opened. */
export interface Scorer {
  score(items: ScoreItem[], onProgress?: (done: number) => void): Promise<number[][]>;
  close(): void;
}

/** Scores every response of every item; the result has the items' shape. */
export async function scoreResponses(
  spec: RewardSpec,
  items: ScoreItem[],
  opts: ScoreOptions = {},
): Promise<number[][]> {
  const scorer = await openScorer(spec, opts);
  try {
    return await scorer.score(items, opts.onProgress);
  } finally {
    scorer.close();
  }
}

export async function openScorer(spec: RewardSpec, opts: Omit<ScoreOptions, 'onProgress'> = {}): Promise<Scorer> {
  if (spec.type === 'verifier') {
    const v = getVerifier(spec.name);
    return {
      score: async (items, onProgress) =>
        items.map((it, i) => {
          const s = it.responses.map((r) => {
            try {
              return v(it.prompt, r, it.reference);
            } catch (e) {
              throw new BadInput((e as Error).message);
            }
          });
          onProgress?.(i + 1);
          return s;
        }),
      close: () => undefined,
    };
  }
  if (spec.type === 'reward-model') {
    if (!opts.store) throw new Error('a reward model needs the artifact store');
    await selectBackend();
    const { model } = await loadRewardModelArtifact(opts.store, spec.model);
    return {
      score: async (items, onProgress) => {
        const out: number[][] = [];
        for (const it of items) {
          out.push(
            scoreTexts(
              model,
              it.responses.map((r) => ({ prompt: it.prompt, response: r })),
              { batchSize: spec.batchSize ?? REWARD_DEFAULTS.batchSize },
            ),
          );
          onProgress?.(out.length);
          if (opts.signal?.aborted) throw opts.signal.reason;
        }
        return out;
      },
      close: () => model.dispose(),
    };
  }
  if (spec.type === 'model') {
    if (!opts.store) throw new Error('a model reward needs the artifact store');
    await selectBackend();
    const { model } = await loadModelArtifact(opts.store, spec.model);
    const ref = spec.ref ? (await loadModelArtifact(opts.store, spec.ref)).model : undefined;
    return {
      score: async (items, onProgress) => {
        const out: number[][] = [];
        for (const it of items) {
          const seqs = it.responses.map((r) => ({ prompt: it.prompt, response: r }));
          const lp = logProbs(model, seqs);
          if (ref) {
            const lr = logProbs(ref, seqs);
            out.push(lp.sum.map((v, j) => (spec.beta ?? REWARD_DEFAULTS.beta) * (v - lr.sum[j]!)));
          } else out.push(lp.sum.map((v, j) => v / Math.max(1, lp.tokens[j]!)));
          onProgress?.(out.length);
          if (opts.signal?.aborted) throw opts.signal.reason;
        }
        return out;
      },
      close: () => {
        model.dispose();
        ref?.dispose();
      },
    };
  }
  return { score: (items, onProgress) => judgeAll(spec, items, { ...opts, onProgress }), close: () => undefined };
}

async function judgeAll(
  spec: Extract<RewardSpec, { type: 'judge' }>,
  items: ScoreItem[],
  opts: ScoreOptions,
): Promise<number[][]> {
  const conc = Math.max(1, spec.concurrency ?? REWARD_DEFAULTS.concurrency);
  const jobs = items.flatMap((it, i) => it.responses.map((r, j) => ({ i, j, prompt: it.prompt, response: r })));
  const out = items.map((it) => new Array<number>(it.responses.length).fill(0));
  const left = items.map((it) => it.responses.length);
  let done = 0;
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      const s = await judgeScore(spec, job.prompt, job.response, opts.signal);
      if (s === undefined) {
        if (opts.stats) opts.stats.unparsed++;
      } else out[job.i]![job.j] = s;
      if (--left[job.i]! === 0) opts.onProgress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(conc, jobs.length) }, worker));
  return out;
}
