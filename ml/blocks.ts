// Building blocks shared by the decoder architectures (gpt2.ts, llama.ts):
// parameters as named tf.Variables, the token embedding with a wasm-safe
// gradient, the additive causal (+ sliding-window, + padding) mask, the KV
// cache, RMSNorm, rotary embeddings and grouped-query attention.
//
// tfjs 4.22 traps handled here:
//  - wasm has no UnsortedSegmentSum, the gradient of gather: the token
//    embedding's backward is scatterAddRows (lmhead.ts): oneHotᵀ·dy on wasm,
//    the segment sum elsewhere.
//  - the gradient of a 3-D × 2-D matMul fails: projections run on 2-D.
import * as tf from '@tensorflow/tfjs';
import { scatterAddRows } from './lmhead.js';

/** Per-layer attention keys/values, [B·H_kv, T, D] each, grown in place. */
export class KvCache {
  k: (tf.Tensor3D | null)[];
  v: (tf.Tensor3D | null)[];
  length = 0;
  constructor(nLayer: number) {
    this.k = new Array(nLayer).fill(null);
    this.v = new Array(nLayer).fill(null);
  }
  /** Appends this step's keys/values for layer l and returns the whole sequence's. */
  append(l: number, kNew: tf.Tensor3D, vNew: tf.Tensor3D): [tf.Tensor3D, tf.Tensor3D] {
    let k = kNew;
    let v = vNew;
    const pk = this.k[l];
    const pv = this.v[l];
    if (pk && pv) {
      k = tf.concat([pk, kNew], 1);
      v = tf.concat([pv, vNew], 1);
      pk.dispose();
      pv.dispose();
    }
    this.k[l] = tf.keep(k);
    this.v[l] = tf.keep(v);
    return [k, v];
  }
  dispose(): void {
    for (const t of [...this.k, ...this.v]) t?.dispose();
    this.k.fill(null);
    this.v.fill(null);
    this.length = 0;
  }
}

export interface ForwardOptions {
  /** Decode incrementally: keys/values of earlier tokens come from here and new ones are appended. */
  cache?: KvCache;
  /** [B, T] positions; needed with left padding. Default: past..past+T-1 for every row. */
  positionIds?: tf.Tensor2D;
  /** [B, past+T], 1 = attend, 0 = padding key. Default: all keys visible (right padding needs none when causal). */
  attentionMask?: tf.Tensor2D;
  returnHidden?: boolean;
}

export interface ForwardResult {
  /** [B, T, vocab] */
  logits: tf.Tensor3D;
  /** [B, T, hidden], the final norm's output (HF's last_hidden_state). */
  hidden?: tf.Tensor3D;
}

/** What every block of one forward pass shares: the batch and sequence sizes, the attention mask, the KV cache. */
export interface ForwardPass {
  B: number;
  T: number;
  /** Tokens already in the cache (0 without one). */
  past: number;
  /** (B or 1, 1, T, past+T), additive. */
  bias: tf.Tensor;
  cache?: KvCache;
}

// Large negative instead of -Inf: a fully masked row (a left-pad query)
// then softmaxes to something finite instead of NaN.
export const MASKED = -1e9;

/** A model's weights by their (HF) names: what GPT-2 and the Llama family keep alike. */
export type ParamMap = Map<string, tf.Variable>;

/**
 * What every architecture's model class shares: its weights by (HF) name and the accessors on them.
 * GPT-2 and the Llama family extend it, so these are written once.
 */
export abstract class NamedWeights {
  constructor(readonly params: ParamMap) {}

  p(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`no parameter ${name}`);
    return v;
  }

  parameterCount(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  /** Copies of all weights as plain arrays, under their names (checkpoints, export, comparisons). */
  toArrays(): Map<string, { shape: number[]; data: Float32Array }> {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, v] of this.params) out.set(name, { shape: v.shape.slice(), data: v.dataSync() as Float32Array });
    return out;
  }
}

let varCounter = 0;
export function makeVariable(data: Float32Array, shape: number[], name: string): tf.Variable {
  // tf.variable copies into its own storage; drop the temporary.
  const t = tf.tensor(data, shape, 'float32');
  // tfjs variable names are global; suffix so several models can coexist.
  const v = tf.variable(t, true, `${name}#${varCounter++}`);
  t.dispose();
  return v;
}

/** y = x·W + b with W as [in, out] (GPT-2's Conv1D layout). */
export function linear(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return tf.add(tf.matMul(x, w as tf.Tensor2D), b);
}

/** y = x·Wᵀ (+ b) with W as [out, in] (torch nn.Linear, the layout Llama checkpoints use). */
export function linearT(x: tf.Tensor2D, w: tf.Tensor, b?: tf.Tensor): tf.Tensor2D {
  const y: tf.Tensor2D = tf.matMul(x, w as tf.Tensor2D, false, true);
  return b ? tf.add<tf.Tensor2D>(y, b) : y;
}

export function embedTokens(wte: tf.Tensor, ids: tf.Tensor1D, vocab: number): tf.Tensor2D {
  // `save` keeps ids alive for the backward pass after forward's tidy ends.
  type Save = (t: tf.Tensor[]) => void;
  const f = tf.customGrad(((w: tf.Tensor, i: tf.Tensor, save: Save) => {
    save([i]);
    return {
      value: tf.gather(w, i),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        scatterAddRows(dy as tf.Tensor2D, saved[0]! as tf.Tensor1D, vocab),
        tf.zerosLike(saved[0]!),
      ],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(wte, ids) as tf.Tensor2D;
}

// [B, 1, T, past+T] additive mask: causal (query i sees keys ≤ past+i),
// optionally only the last `window` of them (Mistral's sliding window,
// counted in columns as transformers does), plus padding keys. Built in JS:
// it is tiny next to the attention scores.
export function attentionBias(B: number, T: number, past: number, mask?: tf.Tensor2D, window?: number): tf.Tensor {
  const Tk = past + T;
  const causal = new Float32Array(T * Tk);
  for (let i = 0; i < T; i++) {
    const q = past + i;
    for (let j = 0; j < Tk; j++) if (j > q || (window !== undefined && q - j >= window)) causal[i * Tk + j] = MASKED;
  }
  const c = tf.tensor(causal, [1, 1, T, Tk]);
  if (!mask) return c;
  if (mask.shape[1] !== Tk) throw new Error(`attentionMask has ${mask.shape[1]} columns, expected ${Tk}`);
  const pad = tf.mul(tf.sub(1, mask.toFloat()), MASKED).reshape([B, 1, 1, Tk]);
  return tf.add(c, pad);
}

/** x·rsqrt(mean(x²) + eps)·g over the last axis (Llama's RMSNorm). */
export function rmsNorm(x: tf.Tensor2D, g: tf.Tensor, eps: number): tf.Tensor2D {
  const ms = tf.mean(tf.mul(x, x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), g);
}

/** down(silu(gate(x)) ⊙ up(x)), nn.Linear weights. */
export function swiglu(
  x: tf.Tensor2D,
  gate: tf.Tensor,
  up: tf.Tensor,
  down: tf.Tensor,
  bias?: { gate: tf.Tensor; up: tf.Tensor; down: tf.Tensor },
): tf.Tensor2D {
  const g = linearT(x, gate, bias?.gate);
  // silu(g) = g·σ(g)
  const a = tf.mul(tf.mul(g, tf.sigmoid(g)), linearT(x, up, bias?.up)) as tf.Tensor2D;
  return linearT(a, down, bias?.down);
}

/**
 * cos/sin tables [B·T, D] for rotary embeddings at the given positions,
 * transformers' layout: frequencies repeated twice (rotate-half pairing).
 * Computed in float64 and rounded once.
 */
export function ropeTables(
  positions: ArrayLike<number>,
  invFreq: Float64Array,
): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const half = invFreq.length;
  const D = 2 * half;
  const n = positions.length;
  const cos = new Float32Array(n * D);
  const sin = new Float32Array(n * D);
  for (let r = 0; r < n; r++) {
    const p = positions[r]!;
    for (let i = 0; i < half; i++) {
      // float32 angle, as torch computes inv_freq·position in float32
      const ang = Math.fround(Math.fround(invFreq[i]!) * p);
      const c = Math.cos(ang);
      const s = Math.sin(ang);
      cos[r * D + i] = cos[r * D + i + half] = c;
      sin[r * D + i] = sin[r * D + i + half] = s;
    }
  }
  return { cos: tf.tensor2d(cos, [n, D]), sin: tf.tensor2d(sin, [n, D]) };
}

/** Rotary embedding of x [B·T, H·D] (rows in the order of the cos/sin tables). */
export function applyRope(x: tf.Tensor2D, H: number, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor2D {
  const [N] = x.shape;
  const D = cos.shape[1];
  const half = D / 2;
  const x3 = x.reshape([N, H, D]);
  const x1 = tf.slice(x3, [0, 0, 0], [N, H, half]);
  const x2 = tf.slice(x3, [0, 0, half], [N, H, half]);
  const rot = tf.concat([tf.neg(x2), x1], 2);
  const c = cos.reshape([N, 1, D]);
  const s = sin.reshape([N, 1, D]);
  return tf.add(tf.mul(x3, c), tf.mul(rot, s)).reshape([N, H * D]) as tf.Tensor2D;
}

/**
 * Scaled dot-product attention with grouped-query heads. q: [B·T, Hq·D];
 * k, v: [B·Hkv, Tk, D] (the cache's layout). Query heads h·r … h·r+r-1 share
 * key/value head h (transformers' repeat_kv), so the queries are regrouped
 * per kv head instead of the keys being repeated. Returns [B·T, Hq·D].
 */
export function groupedAttention(
  q: tf.Tensor2D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  B: number,
  T: number,
  Hq: number,
  Hkv: number,
  bias: tf.Tensor,
): tf.Tensor2D {
  const D = k.shape[2];
  const Tk = k.shape[1];
  const r = Hq / Hkv;
  // [B·T, Hq·D] -> [B, T, Hkv, r, D] -> [B, Hkv, r, T, D] -> [B·Hkv, r·T, D]
  const qg = q
    .reshape([B, T, Hkv, r, D])
    .transpose([0, 2, 3, 1, 4])
    .reshape([B * Hkv, r * T, D]) as tf.Tensor3D;
  let att = tf
    .matMul(qg, k, false, true)
    .mul(1 / Math.sqrt(D))
    .reshape([B, Hq, T, Tk]);
  att = tf.softmax(tf.add(att, bias), -1).reshape([B * Hkv, r * T, Tk]);
  const y = tf.matMul(att as tf.Tensor3D, v); // [B·Hkv, r·T, D]
  return y
    .reshape([B, Hkv, r, T, D])
    .transpose([0, 3, 1, 2, 4])
    .reshape([B * T, Hq * D]) as tf.Tensor2D;
}

/** [B·T, H·D] -> [B·H, T, D] */
export function splitHeads(x: tf.Tensor2D, B: number, T: number, H: number): tf.Tensor3D {
  const D = x.shape[1] / H;
  return x
    .reshape([B, T, H, D])
    .transpose([0, 2, 1, 3])
    .reshape([B * H, T, D]) as tf.Tensor3D;
}

/** [B·H, T, D] -> [B·T, H·D], the inverse of splitHeads. */
export function mergeHeads(x: tf.Tensor3D, B: number, T: number, H: number): tf.Tensor2D {
  const D = x.shape[2];
  return x
    .reshape([B, H, T, D])
    .transpose([0, 2, 1, 3])
    .reshape([B * T, H * D]) as tf.Tensor2D;
}
