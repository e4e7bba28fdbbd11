// Supervised fine-tuning: next-token cross-entropy on response tokens only,
// averaged over the response tokens of the micro-batch.
import * as tf from '@tensorflow/tfjs';
import { encodeConversation, hasChatTemplate, type ChatMessage } from '../chat.js';
import { collate, encodeExample, type EncodedSeq } from '../data.js';
import { tokenizerOf, type CausalLM } from '../model.js';
import { batchLogps } from '../logprobs.js';
import type { Tokenizer } from '../tokenizer.js';
import { runTrainLoop, type LoopHooks, type TrainConfig, type TrainResult } from './loop.js';

/**
 * Prompt/response text (loss on the response), or a conversation (loss on
 * all its assistant turns). With both, a tokenizer with a chat template
 * takes the conversation and any other the text.
 */
export type SftExample = { prompt: string; response: string; messages?: ChatMessage[] } | { messages: ChatMessage[] };

export function encodeSftExample(tok: Tokenizer, e: SftExample, maxLength: number): EncodedSeq {
  if ('prompt' in e && !(e.messages && hasChatTemplate(tok)))
    return encodeExample(tok, e.prompt, e.response, maxLength);
  return encodeConversation(tok, e.messages!, maxLength);
}

export type SftConfig = TrainConfig;

export function sftLoss(model: CausalLM, seqs: EncodedSeq[], padId: number): tf.Scalar {
  const batch = collate(seqs, padId);
  const total = batch.counts.reduce((a, b) => a + b, 0);
  return tf.div(tf.neg(tf.sum(batchLogps(model, batch))), Math.max(1, total)) as tf.Scalar;
}

export async function trainSft(
  args: {
    model: CausalLM;
    examples: SftExample[];
    config?: SftConfig;
    state?: Uint8Array;
    tokenizer?: Tokenizer;
  } & LoopHooks,
): Promise<TrainResult> {
  const tok = args.tokenizer ?? tokenizerOf(args.model);
  const cfg = { ...(args.config ?? {}) } as SftConfig & Record<string, unknown>;
  const maxLength = Math.min(cfg.maxLength ?? args.model.config.n_positions, args.model.config.n_positions);
  const encoded = args.examples.map((e) => encodeSftExample(tok, e, maxLength));
  return runTrainLoop({
    kind: 'sft',
    model: args.model,
    datasetSize: encoded.length,
    config: cfg,
    state: args.state,
    hooks: args,
    microLoss: (indices) => {
      const loss = sftLoss(
        args.model,
        indices.map((i) => encoded[i]!),
        tok.padId,
      );
      return { loss, metrics: { loss: (loss.dataSync() as Float32Array)[0]! } };
    },
  });
}
