// A Bradley–Terry reward model: a decoder backbone plus a scalar head on the
// final hidden state of the sequence's last token, trained so that
//   P(chosen ≻ rejected) = σ(r_chosen − r_rejected),  loss = −log σ(r_c − r_r).
// This is transformers' `GPT2ForSequenceClassification` with num_labels = 1
// (and TRL's RewardTrainer loss): the head is `score.weight` [1, n_embd], no
// bias, and the score is read at the last non-pad token, so a bundle written
// here loads in transformers and scores the same.
//
// The backbone is anything with GPT-2's forward contract (returnHidden gives
// the final-norm output [B, T, C]); a Llama-family decoder plugs in the same
// way once it exposes that contract and an HF architecture name.
import * as tf from '@tensorflow/tfjs';
import { fromHfConfigJson, toHfConfigJson } from './config.js';
import { encodeExample, type EncodedSeq } from './data.js';
import { Gpt2Model, type ForwardOptions, type ForwardResult } from './gpt2.js';
import { modelFromTensors } from './model-files.js';
import { logSigmoid } from './losses.js';
import { Rng } from './rng.js';
import { parseSafetensors, serializeSafetensors, type DType, type NamedTensor } from './safetensors.js';
import { getTokenizer, type Tokenizer, type TokenizerName } from './tokenizer.js';
import { runTrainLoop, type LoopHooks, type MicroLoss, type TrainConfig, type TrainResult } from './train/loop.js';
import type { PreferencePair } from './train/dpo.js';

/** What the reward head needs from a decoder. */
export interface RewardBackbone {
  readonly config: { n_embd: number; n_positions: number };
  readonly params: Map<string, tf.Variable>;
  tokenizerName: TokenizerName;
  forward(ids: tf.Tensor2D, opts?: ForwardOptions): ForwardResult;
  parameterCount(): number;
  dispose(): void;
}

export const SCORE_WEIGHT = 'score.weight';
export const REWARD_ARCHITECTURE = 'GPT2ForSequenceClassification';
const WEIGHTS_FILE = 'model.safetensors';
const CONFIG_FILE = 'config.json';

export class RewardModel {
  readonly backbone: RewardBackbone;
  /** [1, n_embd]: one output label, as nn.Linear(n_embd, 1, bias=False) stores it. */
  readonly head: tf.Variable;
  /** Backbone parameters plus `score.weight`, under their HF names (what the optimizer and checkpoints see). */
  readonly params: Map<string, tf.Variable>;

  constructor(backbone: RewardBackbone, head: tf.Variable) {
    if (head.shape.join(',') !== `1,${backbone.config.n_embd}`)
      throw new Error(`${SCORE_WEIGHT} has shape [${head.shape}], expected [1,${backbone.config.n_embd}]`);
    this.backbone = backbone;
    this.head = head;
    this.params = new Map([...backbone.params, [SCORE_WEIGHT, head]]);
  }

  /** A fresh head on `backbone` (which the reward model then owns): N(0, 0.02) as transformers initialises it. */
  static withNewHead(backbone: RewardBackbone, seed: number): RewardModel {
    const data = new Float32Array(backbone.config.n_embd);
    new Rng(seed).fillNormal(data, 0.02);
    return new RewardModel(backbone, headVariable(data));
  }

  get tokenizerName(): TokenizerName {
    return this.backbone.tokenizerName;
  }

  get maxPositions(): number {
    return this.backbone.config.n_positions;
  }

  parameterCount(): number {
    return this.backbone.parameterCount() + this.head.size;
  }

  dispose(): void {
    this.backbone.dispose();
    this.head.dispose();
  }

  /**
   * [B] rewards of right-padded token rows, read at position lengths[b] − 1.
   * Differentiable; call inside tf.tidy / variableGrads.
   */
  rewards(ids: tf.Tensor2D, lengths: number[]): tf.Tensor1D {
    const [B, T] = ids.shape;
    const { hidden } = this.backbone.forward(ids, { returnHidden: true });
    // Pick each row's last token with a 0/1 mask rather than gather: gather's gradient is missing on wasm.
    const mask = new Float32Array(B * T);
    lengths.forEach((n, b) => {
      if (n < 1 || n > T) throw new Error(`sequence ${b} has length ${n}, batch has ${T} columns`);
      mask[b * T + n - 1] = 1;
    });
    const last = tf.sum(tf.mul(hidden!, tf.tensor3d(mask, [B, T, 1])), 1) as tf.Tensor2D;
    return tf.matMul(last, this.head, false, true).reshape([B]) as tf.Tensor1D;
  }
}

function headVariable(data: Float32Array): tf.Variable {
  const t = tf.tensor2d(data, [1, data.length]);
  const v = tf.variable(t, true, `${SCORE_WEIGHT}#${headCounter++}`);
  t.dispose();
  return v;
}
let headCounter = 0;

/**
 * prompt + response tokens (no EOS: the score sits on the response's last token, where transformers
 * reads it), truncated as for training. An empty response (a blank sample) is scored at the prompt's end.
 */
export function encodeForReward(tok: Tokenizer, prompt: string, response: string, maxLength: number): EncodedSeq {
  if (tok.tokenize(response).length > 0) return encodeExample(tok, prompt, response, maxLength, false);
  const ids = tok.tokenize(prompt).slice(-maxLength);
  if (ids.length === 0) ids.push(tok.eosId);
  return { ids, promptLen: ids.length };
}

/** Right-padded ids of whole sequences (unlike `collate`, nothing is shifted) and their lengths. */
function rewardBatch(seqs: EncodedSeq[], padId: number): { ids: tf.Tensor2D; lengths: number[] } {
  const T = Math.max(1, ...seqs.map((s) => s.ids.length));
  const flat = new Int32Array(seqs.length * T).fill(padId);
  seqs.forEach((s, b) => flat.set(s.ids, b * T));
  return { ids: tf.tensor2d(flat, [seqs.length, T], 'int32'), lengths: seqs.map((s) => s.ids.length) };
}

export interface EncodedRewardPair {
  chosen: EncodedSeq;
  rejected: EncodedSeq;
}

export function encodeRewardPairs(tok: Tokenizer, pairs: PreferencePair[], maxLength: number): EncodedRewardPair[] {
  return pairs.map((p) => ({
    chosen: encodeForReward(tok, p.prompt, p.chosen, maxLength),
    rejected: encodeForReward(tok, p.prompt, p.rejected, maxLength),
  }));
}

/** Bradley–Terry loss (mean over the pairs at `indices`) and its metrics. */
export function rewardBatchLoss(
  model: RewardModel,
  encoded: EncodedRewardPair[],
  indices: number[],
  padId: number,
): MicroLoss {
  const B = indices.length;
  const { ids, lengths } = rewardBatch(
    [...indices.map((i) => encoded[i]!.chosen), ...indices.map((i) => encoded[i]!.rejected)],
    padId,
  );
  const r = model.rewards(ids, lengths);
  const rc = r.slice(0, B);
  const rr = r.slice(B, B);
  const loss = tf.mean(tf.neg(logSigmoid(tf.sub(rc, rr)))) as tf.Scalar;
  const c = rc.dataSync() as Float32Array;
  const j = rr.dataSync() as Float32Array;
  let acc = 0,
    margin = 0,
    sc = 0,
    sr = 0;
  for (let k = 0; k < B; k++) {
    acc += c[k]! > j[k]! ? 1 : 0;
    margin += c[k]! - j[k]!;
    sc += c[k]!;
    sr += j[k]!;
  }
  return {
    loss,
    metrics: {
      loss: (loss.dataSync() as Float32Array)[0]!,
      accuracy: acc / B,
      margin: margin / B,
      'rewards/chosen': sc / B,
      'rewards/rejected': sr / B,
    },
  };
}

export async function trainReward(
  args: {
    model: RewardModel;
    pairs: PreferencePair[];
    config?: TrainConfig;
    state?: Uint8Array;
    tokenizer?: Tokenizer;
  } & LoopHooks,
): Promise<TrainResult> {
  const tok = args.tokenizer ?? getTokenizer(args.model.tokenizerName);
  const cfg = { ...(args.config ?? {}) } as TrainConfig & Record<string, unknown>;
  const maxLength = Math.min(cfg.maxLength ?? args.model.maxPositions, args.model.maxPositions);
  const encoded = encodeRewardPairs(tok, args.pairs, maxLength);
  return runTrainLoop({
    kind: 'reward',
    model: args.model,
    datasetSize: encoded.length,
    config: cfg,
    state: args.state,
    hooks: args,
    microLoss: (indices) => rewardBatchLoss(args.model, encoded, indices, tok.padId),
  });
}

/** Inference: one reward per (prompt, response), in batches. */
export function scoreTexts(
  model: RewardModel,
  items: { prompt: string; response: string }[],
  opts: { batchSize?: number; maxLength?: number; tokenizer?: Tokenizer } = {},
): number[] {
  const tok = opts.tokenizer ?? getTokenizer(model.tokenizerName);
  const bs = opts.batchSize ?? 16;
  const maxLength = Math.min(opts.maxLength ?? model.maxPositions, model.maxPositions);
  const out: number[] = [];
  for (let i = 0; i < items.length; i += bs) {
    const seqs = items.slice(i, i + bs).map((it) => encodeForReward(tok, it.prompt, it.response, maxLength));
    const r = tf.tidy(() => {
      const { ids, lengths } = rewardBatch(seqs, tok.padId);
      return model.rewards(ids, lengths);
    });
    out.push(...(r.dataSync() as Float32Array));
    r.dispose();
  }
  return out;
}

export interface PairwiseEval {
  pairs: number;
  /** Fraction with r(chosen) > r(rejected). */
  accuracy: number;
  /** Mean r(chosen) − r(rejected). */
  margin: number;
  ties: number;
  meanChosen: number;
  meanRejected: number;
}

/** Pairwise accuracy and margin from per-pair scores. Pure. */
export function pairwiseStats(chosen: number[], rejected: number[]): PairwiseEval {
  const n = chosen.length;
  if (n === 0 || rejected.length !== n)
    throw new Error(`need equal, non-zero numbers of chosen and rejected scores (got ${n} and ${rejected.length})`);
  let acc = 0,
    ties = 0,
    margin = 0,
    sc = 0,
    sr = 0;
  for (let i = 0; i < n; i++) {
    const d = chosen[i]! - rejected[i]!;
    if (d > 0) acc++;
    else if (d === 0) ties++;
    margin += d;
    sc += chosen[i]!;
    sr += rejected[i]!;
  }
  return { pairs: n, accuracy: acc / n, margin: margin / n, ties, meanChosen: sc / n, meanRejected: sr / n };
}

// ---- Hugging Face folder: config.json (GPT2ForSequenceClassification) + model.safetensors ----

export function rewardConfigJson(model: RewardModel): Record<string, unknown> {
  if (!(model.backbone instanceof Gpt2Model))
    throw new Error('only GPT-2 reward models can be written as a Hugging Face folder so far');
  const tok = getTokenizer(model.tokenizerName);
  return {
    ...toHfConfigJson(model.backbone.config, model.tokenizerName),
    architectures: [REWARD_ARCHITECTURE],
    num_labels: 1,
    id2label: { '0': 'LABEL_0' },
    label2id: { LABEL_0: 0 },
    problem_type: 'regression',
    // transformers reads the score at the last token that is not pad_token_id.
    pad_token_id: tok.padId,
  };
}

export function serializeRewardModel(
  model: RewardModel,
  opts: { dtype?: DType } = {},
): { files: Record<string, Uint8Array> } {
  const tensors = new Map<string, NamedTensor>();
  for (const [name, v] of model.params)
    tensors.set(name, { shape: v.shape.slice(), data: v.dataSync() as Float32Array });
  return {
    files: {
      [WEIGHTS_FILE]: serializeSafetensors(tensors, { dtype: opts.dtype, metadata: { format: 'pt' } }),
      [CONFIG_FILE]: new TextEncoder().encode(JSON.stringify(rewardConfigJson(model), null, 2) + '\n'),
    },
  };
}

/** The architecture a bundle's config.json names (its first `architectures` entry), if any. */
export function bundleArchitecture(files: Record<string, Uint8Array>): string | undefined {
  const cfg = files[CONFIG_FILE];
  if (!cfg) return undefined;
  const a = (JSON.parse(new TextDecoder().decode(cfg)) as { architectures?: unknown }).architectures;
  return Array.isArray(a) && typeof a[0] === 'string' ? a[0] : undefined;
}

export function isRewardBundle(files: Record<string, Uint8Array>): boolean {
  return bundleArchitecture(files)?.endsWith('ForSequenceClassification') ?? false;
}

export function deserializeRewardModel(files: Record<string, Uint8Array>): RewardModel {
  const cfgBytes = files[CONFIG_FILE];
  const weights = files[WEIGHTS_FILE];
  if (!cfgBytes) throw new Error(`missing ${CONFIG_FILE}`);
  if (!weights) throw new Error(`missing ${WEIGHTS_FILE}`);
  const cfg = JSON.parse(new TextDecoder().decode(cfgBytes)) as Record<string, unknown>;
  const arch = bundleArchitecture(files);
  if (arch !== REWARD_ARCHITECTURE)
    throw new Error(
      `not a reward model: config.json names ${arch ?? 'no architecture'}, expected ${REWARD_ARCHITECTURE}`,
    );
  const labels = cfg.num_labels ?? (cfg.id2label ? Object.keys(cfg.id2label as object).length : undefined);
  if (labels !== 1) throw new Error(`a reward model has num_labels 1, config.json says ${String(labels)}`);
  const tensors = parseSafetensors(weights).tensors;
  const head = tensors.get(SCORE_WEIGHT);
  if (!head) throw new Error(`${WEIGHTS_FILE} has no ${SCORE_WEIGHT}`);
  const { config } = fromHfConfigJson(cfg);
  if (head.shape.join(',') !== `1,${config.n_embd}`)
    throw new Error(`${SCORE_WEIGHT} has shape [${head.shape}], expected [1,${config.n_embd}]`);
  const rest = new Map([...tensors].filter(([n]) => n !== SCORE_WEIGHT));
  return new RewardModel(
    modelFromTensors({ ...cfg, architectures: ['GPT2LMHeadModel'] }, rest),
    headVariable(head.data),
  );
}
