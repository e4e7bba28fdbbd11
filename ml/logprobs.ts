// Sequence log-probabilities: Σ_t log p(target_t) over response tokens.
// The same function serves SFT (as a loss), DPO (policy and reference) and
// the per-sample gradients.
import * as tf from '@tensorflow/tfjs';
import type { ChatMessage } from './chat.js';
import { collate, encodeItem, type Batch } from './data.js';
import { tokenLogps } from './lmhead.js';
import { tokenizerOf, type CausalLM } from './model.js';
import type { Tokenizer } from './tokenizer.js';

/** [B] summed response log-probs, differentiable. Call inside tf.tidy / variableGrads. */
export function batchLogps(model: CausalLM, batch: Batch): tf.Tensor1D {
  const { B, T } = batch;
  const ids = tf.tensor2d(batch.inputIds, [B, T], 'int32');
  // The LM head and log-softmax as one op (lmhead.ts): its backward never
  // holds [tokens, vocab] tensors beyond the logits and one temporary.
  const picked = tokenLogps(
    model.hidden(ids),
    model.lmHead() as tf.Tensor as tf.Tensor2D,
    tf.tensor1d(batch.targets, 'int32'),
  );
  return tf.sum(tf.mul(picked, tf.tensor1d(batch.mask)).reshape([B, T]), 1) as tf.Tensor1D;
}

export interface LogProbsOptions {
  tokenizer?: Tokenizer;
  batchSize?: number;
  maxLength?: number;
}

export interface SequenceLogps {
  /** Σ log p over response tokens (incl. EOS). */
  sum: number[];
  /** Response tokens scored per sequence, for per-token averages (IPO). */
  tokens: number[];
}

/** Inference-only log-probs of `response` given `prompt`, for any number of sequences. */
export function logProbs(
  model: CausalLM,
  items: { prompt: string; response: string; messages?: ChatMessage[] }[],
  opts: LogProbsOptions = {},
): SequenceLogps {
  const tok = opts.tokenizer ?? tokenizerOf(model);
  const bs = opts.batchSize ?? 8;
  const maxLength = Math.min(opts.maxLength ?? model.config.n_positions, model.config.n_positions);
  const sum: number[] = [];
  const tokens: number[] = [];
  for (let i = 0; i < items.length; i += bs) {
    const batch = collate(
      items.slice(i, i + bs).map((it) => encodeItem(tok, it, it.response, maxLength)),
      tok.padId,
    );
    const lp = tf.tidy(() => batchLogps(model, batch));
    sum.push(...(lp.dataSync() as Float32Array));
    lp.dispose();
    tokens.push(...batch.counts);
  }
  return { sum, tokens };
}
