// Direct Preference Optimization with TRL's loss variants and metric names.
// Chosen and rejected sequences go through the policy in one concatenated
// batch (as TRL's concatenated_forward does); reference log-probs are
// precomputed once by computeRefLogps and passed in.
import * as tf from '@tensorflow/tfjs';
import type { ChatMessage } from '../chat.js';
import { collate, encodeItem, type EncodedSeq } from '../data.js';
import { tokenizerOf, type CausalLM } from '../model.js';
import { batchLogps, logProbs } from '../logprobs.js';
import { dpoLosses, type DpoLossType } from '../losses.js';
import type { Tokenizer } from '../tokenizer.js';
import { runTrainLoop, type LoopHooks, type MicroLoss, type TrainConfig, type TrainResult } from './loop.js';

export interface PreferencePair {
  prompt: string;
  chosen: string;
  rejected: string;
  /** The prompt as a conversation, rendered with the model's chat template (then `prompt` is not used). */
  messages?: ChatMessage[];
}

/**
 * Summed response log-probs of the reference model, one entry per pair. Pairs
 * training never reads may hold NaN (bpo.train computes only the pairs it uses).
 */
export interface RefLogps {
  chosen: number[];
  rejected: number[];
  /** Response token counts, so IPO can average per token. */
  chosenTokens: number[];
  rejectedTokens: number[];
}

export interface DpoConfig extends TrainConfig {
  beta?: number;
  lossType?: DpoLossType;
  labelSmoothing?: number;
}

export const DPO_DEFAULTS = { beta: 0.1, lossType: 'sigmoid' as DpoLossType, labelSmoothing: 0 };

export interface EncodedPair {
  chosen: EncodedSeq;
  rejected: EncodedSeq;
}

export function encodePairs(tok: Tokenizer, pairs: PreferencePair[], maxLength: number): EncodedPair[] {
  return pairs.map((p) => ({
    chosen: encodeItem(tok, p, p.chosen, maxLength),
    rejected: encodeItem(tok, p, p.rejected, maxLength),
  }));
}

/** Run once before training; store the result alongside the dataset. */
export function computeRefLogps(
  ref: CausalLM,
  pairs: PreferencePair[],
  opts: { tokenizer?: Tokenizer; batchSize?: number; maxLength?: number } = {},
): RefLogps {
  const c = logProbs(
    ref,
    pairs.map((p) => ({ prompt: p.prompt, messages: p.messages, response: p.chosen })),
    opts,
  );
  const r = logProbs(
    ref,
    pairs.map((p) => ({ prompt: p.prompt, messages: p.messages, response: p.rejected })),
    opts,
  );
  return { chosen: c.sum, rejected: r.sum, chosenTokens: c.tokens, rejectedTokens: r.tokens };
}

/** DPO loss (mean over pairs) and TRL metrics for the pairs at `indices`. */
export function dpoBatchLoss(
  policy: CausalLM,
  encoded: EncodedPair[],
  refLogps: RefLogps,
  indices: number[],
  cfg: { beta: number; lossType: DpoLossType; labelSmoothing: number },
  padId: number,
): MicroLoss {
  const B = indices.length;
  const batch = collate(
    [...indices.map((i) => encoded[i]!.chosen), ...indices.map((i) => encoded[i]!.rejected)],
    padId,
  );
  let all: tf.Tensor1D = batchLogps(policy, batch);
  const pick = (arr: number[]) => indices.map((i) => arr[i]!);
  let refC = pick(refLogps.chosen);
  let refR = pick(refLogps.rejected);
  const missing = indices.find((_, j) => !Number.isFinite(refC[j]!) || !Number.isFinite(refR[j]!));
  if (missing !== undefined) throw new Error(`no reference log-probs for pair ${missing}`);
  if (cfg.lossType === 'ipo') {
    // TRL averages log-probs over completion tokens for IPO (policy and reference alike).
    all = tf.div(all, tf.tensor1d(batch.counts.map((n) => Math.max(1, n))));
    refC = refC.map((v, j) => v / Math.max(1, refLogps.chosenTokens[indices[j]!]!));
    refR = refR.map((v, j) => v / Math.max(1, refLogps.rejectedTokens[indices[j]!]!));
  }
  const pc = all.slice(0, B);
  const pr = all.slice(B, B);
  const rc = tf.tensor1d(refC);
  const rr = tf.tensor1d(refR);
  const x = tf.sub(tf.sub(pc, pr), tf.sub(rc, rr)) as tf.Tensor1D;
  const loss = tf.mean(dpoLosses(x, cfg.lossType, cfg.beta, cfg.labelSmoothing)) as tf.Scalar;

  const pcv = pc.dataSync() as Float32Array;
  const prv = pr.dataSync() as Float32Array;
  let chosenR = 0,
    rejectedR = 0,
    acc = 0,
    margin = 0,
    lc = 0,
    lr = 0;
  for (let j = 0; j < B; j++) {
    const cr = cfg.beta * (pcv[j]! - refC[j]!);
    const rj = cfg.beta * (prv[j]! - refR[j]!);
    chosenR += cr;
    rejectedR += rj;
    acc += cr > rj ? 1 : 0;
    margin += cr - rj;
    lc += pcv[j]!;
    lr += prv[j]!;
  }
  return {
    loss,
    metrics: {
      loss: (loss.dataSync() as Float32Array)[0]!,
      'rewards/chosen': chosenR / B,
      'rewards/rejected': rejectedR / B,
      'rewards/accuracies': acc / B,
      'rewards/margins': margin / B,
      'logps/chosen': lc / B,
      'logps/rejected': lr / B,
    },
  };
}

export async function trainDpo(
  args: {
    policy: CausalLM;
    pairs: PreferencePair[];
    refLogps: RefLogps;
    config?: DpoConfig;
    state?: Uint8Array;
    tokenizer?: Tokenizer;
  } & LoopHooks,
): Promise<TrainResult> {
  const tok = args.tokenizer ?? tokenizerOf(args.policy);
  if (args.refLogps.chosen.length !== args.pairs.length || args.refLogps.rejected.length !== args.pairs.length) {
    throw new Error(`refLogps has ${args.refLogps.chosen.length} entries for ${args.pairs.length} pairs`);
  }
  const cfg = { ...DPO_DEFAULTS, ...(args.config ?? {}) } as DpoConfig & typeof DPO_DEFAULTS & Record<string, unknown>;
  const maxLength = Math.min(cfg.maxLength ?? args.policy.config.n_positions, args.policy.config.n_positions);
  // Encoded when first read: a large dataset trained for a few steps tokenizes only what it uses.
  const encoded: EncodedPair[] = new Array(args.pairs.length);
  const encode = (indices: number[]) => {
    for (const i of indices) encoded[i] ??= encodePairs(tok, [args.pairs[i]!], maxLength)[0]!;
  };
  return runTrainLoop({
    kind: 'dpo',
    model: args.policy,
    datasetSize: encoded.length,
    config: cfg,
    state: args.state,
    hooks: args,
    microLoss: (indices, c) => {
      encode(indices);
      return dpoBatchLoss(args.policy, encoded, args.refLogps, indices, c as typeof DPO_DEFAULTS, tok.padId);
    },
  });
}
