// Supervised fine-tuning: next-token cross-entropy on response tokens only,
// averaged over the response tokens of the micro-batch.
import * as tf from '@tensorflow/tfjs';
import { collate, encodeExample, type EncodedSeq } from '../data.js';
import type { Gpt2Model } from '../gpt2.js';
import { batchLogps } from '../logprobs.js';
import { getTokenizer, type Tokenizer } from '../tokenizer.js';
import { runTrainLoop, type LoopHooks, type TrainConfig, type TrainResult } from './loop.js';

export interface SftExample {
  prompt: string;
  response: string;
}

export type SftConfig = TrainConfig;

export function sftLoss(model: Gpt2Model, seqs: EncodedSeq[], padId: number): tf.Scalar {
  const batch = collate(seqs, padId);
  const total = batch.counts.reduce((a, b) => a + b, 0);
  return tf.div(tf.neg(tf.sum(batchLogps(model, batch))), Math.max(1, total)) as tf.Scalar;
}

export async function trainSft(
  args: {
    model: Gpt2Model;
    examples: SftExample[];
    config?: SftConfig;
    state?: Uint8Array;
    tokenizer?: Tokenizer;
  } & LoopHooks,
): Promise<TrainResult> {
  const tok = args.tokenizer ?? getTokenizer(args.model.tokenizerName);
  const cfg = { ...(args.config ?? {}) } as SftConfig & Record<string, unknown>;
  const maxLength = Math.min(cfg.maxLength ?? args.model.config.n_positions, args.model.config.n_positions);
  const encoded = args.examples.map((e) => encodeExample(tok, e.prompt, e.response, maxLength));
  return runTrainLoop({
    kind: 'sft',
    model: args.model,
    datasetSize: encoded.length,
    config: cfg,
    state: args.state,
    hooks: args,
    microLoss: (indices) => {
      const loss = sftLoss(args.model, indices.map((i) => encoded[i]!), tok.padId);
      return { loss, metrics: { loss: (loss.dataSync() as Float32Array)[0]! } };
    },
  });
}
