// Batched, seeded sampling with a KV cache. Prompts are left-padded so every
// row's next token sits in the same column; padding keys are masked and
// positions restart at each row's first real token, so a padded row computes
// exactly what it would alone.
import * as tf from '@tensorflow/tfjs';
import { KvCache } from './blocks.js';
import type { CausalLM } from './model.js';
import { Rng } from './rng.js';
import type { Tokenizer } from './tokenizer.js';

export interface GenerateOptions {
  maxNewTokens?: number;
  /** 0 = greedy. */
  temperature?: number;
  /** 0 = off. */
  topK?: number;
  /** 1 = off. */
  topP?: number;
  /** Generation of a row ends at the first of these; the text is cut before it. */
  stop?: string[];
  seed?: number;
  /** false recomputes the whole sequence per token; exists to test the cache. */
  useCache?: boolean;
}

export interface GenerateResult {
  texts: string[];
  tokens: number[][];
}

export function generate(
  model: CausalLM,
  tokenizer: Tokenizer,
  prompts: string[],
  opts: GenerateOptions = {},
): string[] {
  return generateTokens(model, tokenizer, prompts, opts).texts;
}

export function generateTokens(
  model: CausalLM,
  tokenizer: Tokenizer,
  prompts: string[],
  opts: GenerateOptions = {},
): GenerateResult {
  const maxNew = opts.maxNewTokens ?? 64;
  const temperature = opts.temperature ?? 1;
  const topK = opts.topK ?? 0;
  const topP = opts.topP ?? 1;
  const stops = (opts.stop ?? []).filter((s) => s.length > 0);
  const useCache = opts.useCache ?? true;
  const rng = new Rng(opts.seed ?? 0);
  const B = prompts.length;
  if (B === 0) return { texts: [], tokens: [] };
  const V = model.config.vocab_size;
  const budget = model.config.n_positions;

  const promptIds = prompts.map((p) => {
    // As in training (encodeExample): an HF tokenizer's BOS goes first.
    const ids = [...(tokenizer.prefixIds ?? []), ...tokenizer.tokenize(p)];
    const keep = Math.max(1, budget - maxNew);
    const t = ids.slice(Math.max(0, ids.length - keep));
    return t.length ? t : [tokenizer.eosId];
  });
  const Tp = Math.max(...promptIds.map((p) => p.length));
  const steps = Math.min(maxNew, budget - Tp);
  // Full sequences (left-padded), attention mask and positions, grown as we go.
  const seq: number[][] = promptIds.map((p) => [...new Array(Tp - p.length).fill(tokenizer.padId), ...p]);
  const mask: number[][] = promptIds.map((p) => [...new Array(Tp - p.length).fill(0), ...new Array(p.length).fill(1)]);
  const pos: number[][] = promptIds.map((p) => [...new Array(Tp - p.length).fill(0), ...p.map((_, i) => i)]);
  const out: number[][] = prompts.map(() => []);
  const texts: string[] = prompts.map(() => '');
  const done = new Array(B).fill(false);
  const cache = useCache ? new KvCache(model.config.n_layer) : undefined;

  try {
    for (let s = 0; s < steps && done.some((d) => !d); s++) {
      const from = useCache && s > 0 ? seq[0]!.length - 1 : 0;
      const T = seq[0]!.length - from;
      const last = tf.tidy(() => {
        const ids = tf.tensor2d(
          seq.flatMap((r) => r.slice(from)),
          [B, T],
          'int32',
        );
        const positionIds = tf.tensor2d(
          pos.flatMap((r) => r.slice(from)),
          [B, T],
          'int32',
        );
        const attentionMask = tf.tensor2d(mask.flat(), [B, seq[0]!.length], 'float32');
        const { logits } = model.forward(ids, { cache, positionIds, attentionMask });
        return logits.slice([0, T - 1, 0], [B, 1, V]).reshape([B, V]);
      });
      const data = last.dataSync() as Float32Array;
      last.dispose();
      for (let b = 0; b < B; b++) {
        let next = tokenizer.padId;
        if (!done[b]) {
          next = pickToken(data.subarray(b * V, (b + 1) * V), temperature, topK, topP, rng);
          if (next === tokenizer.eosId) done[b] = true;
          else {
            out[b]!.push(next);
            const text = tokenizer.detokenize(out[b]!);
            const cut = firstStop(text, stops);
            texts[b] = cut < 0 ? text : text.slice(0, cut);
            if (cut >= 0) done[b] = true;
          }
        }
        seq[b]!.push(next);
        mask[b]!.push(1);
        pos[b]!.push(pos[b]![pos[b]!.length - 1]! + 1);
      }
    }
  } finally {
    cache?.dispose();
  }
  return { texts, tokens: out };
}

function firstStop(text: string, stops: string[]): number {
  let best = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}

/** Greedy when temperature is 0, otherwise temperature → top-k → top-p (as transformers orders them). */
export function pickToken(logits: Float32Array, temperature: number, topK: number, topP: number, rng: Rng): number {
  const V = logits.length;
  if (temperature <= 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
  const z = new Float64Array(V);
  for (let i = 0; i < V; i++) z[i] = logits[i]! / temperature;
  let idx = Array.from({ length: V }, (_, i) => i).sort((a, b) => z[b]! - z[a]! || a - b);
  if (topK > 0 && topK < V) idx = idx.slice(0, topK);
  const max = z[idx[0]!]!;
  let probs = idx.map((i) => Math.exp(z[i]! - max));
  let total = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / total);
  if (topP < 1) {
    // Keep the smallest prefix whose mass reaches topP (at least one token).
    let cum = 0;
    let n = 0;
    while (n < probs.length && (n === 0 || cum < topP)) cum += probs[n++]!;
    idx = idx.slice(0, n);
    probs = probs.slice(0, n);
    total = probs.reduce((a, b) => a + b, 0);
    probs = probs.map((p) => p / total);
  }
  let u = rng.next();
  for (let i = 0; i < probs.length; i++) {
    u -= probs[i]!;
    if (u < 0) return idx[i]!;
  }
  return idx[idx.length - 1]!;
}
