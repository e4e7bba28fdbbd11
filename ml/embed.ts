// Prompt embeddings: the final hidden states (after ln_f) mean-pooled over
// the prompt's tokens. Used to group prompts before gradient clustering.
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from './model.js';
import type { Tokenizer } from './tokenizer.js';

export function embedPrompts(
  model: CausalLM,
  tokenizer: Tokenizer,
  prompts: string[],
  opts: { batchSize?: number } = {},
): Float32Array[] {
  const bs = opts.batchSize ?? 8;
  const maxLen = model.config.n_positions;
  const C = model.config.n_embd;
  const out: Float32Array[] = [];
  for (let s = 0; s < prompts.length; s += bs) {
    // Keep the end of over-long prompts; an empty prompt embeds as EOS.
    const seqs = prompts.slice(s, s + bs).map((p) => {
      const ids = [...(tokenizer.prefixIds ?? []), ...tokenizer.tokenize(p)];
      return ids.length === 0 ? [tokenizer.eosId] : ids.slice(-maxLen);
    });
    const B = seqs.length;
    const T = Math.max(...seqs.map((q) => q.length));
    const ids = new Int32Array(B * T).fill(tokenizer.padId);
    const mask = new Float32Array(B * T);
    seqs.forEach((q, b) => q.forEach((t, i) => ((ids[b * T + i] = t), (mask[b * T + i] = 1))));
    const pooled = tf.tidy(() => {
      // Right padding: causal attention means real tokens never see the pads.
      const { hidden } = model.forward(tf.tensor2d(ids, [B, T], 'int32'), { returnHidden: true });
      const m = tf.tensor3d(mask, [B, T, 1]);
      return tf.div(tf.sum(tf.mul(hidden!, m), 1), tf.sum(m, 1));
    });
    const data = pooled.dataSync() as Float32Array;
    pooled.dispose();
    for (let b = 0; b < B; b++) out.push(data.slice(b * C, (b + 1) * C));
  }
  return out;
}
