// GPT-2, exactly: learned positions, pre-LayerNorm blocks, an MLP (tanh-GELU
// by default; config.activation_function), causal self-attention scaled as
// config.ts says, final LayerNorm, LM head tied to the token embedding unless
// tie_word_embeddings is false.
// Parameters are named tf.Variables with the Hugging Face tensor names so a
// checkpoint is a plain GPT2LMHeadModel safetensors file.
//
// tfjs 4.22 traps this file works around:
//  - wasm has no UnsortedSegmentSum, the gradient of gather: the token
//    embedding's backward is scatterAddRows (lmhead.ts), a oneHotᵀ·dy matmul
//    on wasm and the segment sum elsewhere (with GPT-2's 50k vocabulary the
//    matmul would be ~10% of a step).
//  - the gradient of a 3-D × 2-D matMul fails: every projection runs on 2-D.
//  - positions use slice (gradient = pad) rather than gather when contiguous.
//  - wasm runs transposed and batched matMuls (every matMul gradient, the
//    LM head x·Wᵀ, attention) ~10× slower than a plain 2-D one: importing
//    ./wasm-matmul.js replaces that kernel with one that keeps them fast.
import * as tf from '@tensorflow/tfjs';
import { activate, TANH_GELUS } from './activations.js';
import { activationOf, attentionScale, isTied, mlpWidth, type Gpt2Config } from './config.js';
import { Rng } from './rng.js';
import type { Tokenizer, TokenizerName } from './tokenizer.js';
import {
  attentionBias,
  embedTokens,
  linear,
  makeVariable,
  NamedWeights,
  mergeHeads,
  splitHeads,
  type ForwardOptions,
  type ForwardPass,
  type ForwardResult,
} from './blocks.js';
import './wasm-matmul.js';

export { KvCache, type ForwardOptions, type ForwardResult } from './blocks.js';

export interface ParamSpec {
  name: string;
  shape: number[];
  init: 'normal' | 'residual' | 'zeros' | 'ones';
}

export function paramSpecs(c: Gpt2Config): ParamSpec[] {
  const C = c.n_embd;
  const F = mlpWidth(c);
  const specs: ParamSpec[] = [
    { name: 'transformer.wte.weight', shape: [c.vocab_size, C], init: 'normal' },
    { name: 'transformer.wpe.weight', shape: [c.n_positions, C], init: 'normal' },
  ];
  for (let i = 0; i < c.n_layer; i++) {
    const p = `transformer.h.${i}.`;
    specs.push(
      { name: p + 'ln_1.weight', shape: [C], init: 'ones' },
      { name: p + 'ln_1.bias', shape: [C], init: 'zeros' },
      // Conv1D layout: [in, out], y = x·W + b.
      { name: p + 'attn.c_attn.weight', shape: [C, 3 * C], init: 'normal' },
      { name: p + 'attn.c_attn.bias', shape: [3 * C], init: 'zeros' },
      { name: p + 'attn.c_proj.weight', shape: [C, C], init: 'residual' },
      { name: p + 'attn.c_proj.bias', shape: [C], init: 'zeros' },
      { name: p + 'ln_2.weight', shape: [C], init: 'ones' },
      { name: p + 'ln_2.bias', shape: [C], init: 'zeros' },
      { name: p + 'mlp.c_fc.weight', shape: [C, F], init: 'normal' },
      { name: p + 'mlp.c_fc.bias', shape: [F], init: 'zeros' },
      { name: p + 'mlp.c_proj.weight', shape: [F, C], init: 'residual' },
      { name: p + 'mlp.c_proj.bias', shape: [C], init: 'zeros' },
    );
  }
  specs.push(
    { name: 'transformer.ln_f.weight', shape: [C], init: 'ones' },
    { name: 'transformer.ln_f.bias', shape: [C], init: 'zeros' },
  );
  // tie_word_embeddings: false gives the LM head its own matrix (HF's name, no "transformer." prefix).
  if (!isTied(c)) specs.push({ name: 'lm_head.weight', shape: [c.vocab_size, C], init: 'normal' });
  return specs;
}

export function countParams(c: Gpt2Config): number {
  return paramSpecs(c).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}

export class Gpt2Model extends NamedWeights {
  readonly config: Gpt2Config;
  /** Saved into config.json so a checkpoint always decodes with the tokenizer it was trained with. */
  tokenizerName: TokenizerName;
  /** The model folder's own tokenizer (tokenizer.json), when it came with one. */
  tokenizer?: Tokenizer;

  constructor(config: Gpt2Config, params: Map<string, tf.Variable>, tokenizerName?: TokenizerName) {
    super(params);
    this.config = config;
    this.tokenizerName = tokenizerName ?? (config.vocab_size >= 50257 ? 'gpt2' : 'byte');
  }

  /** GPT-2 init: N(0, 0.02); residual projections scaled by 1/√(2·n_layer) so the residual variance doesn't grow. */
  static init(config: Gpt2Config, seed: number, tokenizerName?: TokenizerName): Gpt2Model {
    const rng = new Rng(seed);
    const params = new Map<string, tf.Variable>();
    const residualStd = 0.02 / Math.sqrt(2 * config.n_layer);
    for (const s of paramSpecs(config)) {
      const size = s.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(size);
      if (s.init === 'normal') rng.fillNormal(data, 0.02);
      else if (s.init === 'residual') rng.fillNormal(data, residualStd);
      else if (s.init === 'ones') data.fill(1);
      params.set(s.name, makeVariable(data, s.shape, s.name));
    }
    return new Gpt2Model(config, params, tokenizerName);
  }

  static fromArrays(
    config: Gpt2Config,
    arrays: Map<string, { shape: number[]; data: Float32Array }>,
    tokenizerName?: TokenizerName,
  ): Gpt2Model {
    const params = new Map<string, tf.Variable>();
    for (const s of paramSpecs(config)) {
      const a = arrays.get(s.name);
      if (!a) throw new Error(`missing parameter ${s.name}`);
      if (a.shape.join(',') !== s.shape.join(','))
        throw new Error(`parameter ${s.name}: shape [${a.shape}] but config needs [${s.shape}]`);
      params.set(s.name, makeVariable(a.data, s.shape, s.name));
    }
    return new Gpt2Model(config, params, tokenizerName);
  }

  clone(): Gpt2Model {
    const m = Gpt2Model.fromArrays(this.config, this.toArrays(), this.tokenizerName);
    m.tokenizer = this.tokenizer;
    return m;
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }

  forward(ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardResult {
    const c = this.config;
    const [B, T] = ids.shape;
    const out = tf.tidy(() => {
      const hf = this.trunk(ids, opts);
      const logits = tf.matMul(hf, this.lmHead(), false, true).reshape([B, T, c.vocab_size]) as tf.Tensor3D;
      const r: Record<string, tf.Tensor> = { logits };
      if (opts.returnHidden) r.hidden = hf.reshape([B, T, c.n_embd]);
      return r;
    });
    if (opts.cache) opts.cache.length += T;
    return out as unknown as ForwardResult;
  }

  /** The LM head weight [vocab, n_embd]: the token embedding when tied (GPT-2's default), else lm_head.weight. */
  lmHead(): tf.Variable {
    return this.p(isTied(this.config) ? 'transformer.wte.weight' : 'lm_head.weight');
  }

  /** Final-LayerNorm states [B·T, n_embd] without the LM head, for losses that apply the head (lmhead.ts). */
  hidden(ids: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.trunk(ids, {}));
  }

  // The trunk, as nanoGPT's GPT.forward: token + position embeddings, the blocks, the
  // final LayerNorm. Activations are 2-D (B·T, C) between the pieces, so every projection
  // is a plain 2-D matMul. The caller's tidy owns the intermediates.
  private trunk(ids: tf.Tensor2D, opts: ForwardOptions): tf.Tensor2D {
    const c = this.config;
    const [B, T] = ids.shape;
    const C = c.n_embd;
    const past = opts.cache?.length ?? 0;
    if (past + T > c.n_positions && !opts.positionIds)
      throw new Error(`sequence length ${past + T} exceeds n_positions ${c.n_positions}`);
    const flatIds = ids.reshape([B * T]) as tf.Tensor1D;
    const tok = embedTokens(this.p('transformer.wte.weight'), flatIds, c.vocab_size).reshape([B, T, C]);
    const wpe = this.p('transformer.wpe.weight');
    const pos = opts.positionIds
      ? tf.gather(wpe, opts.positionIds.reshape([B * T])).reshape([B, T, C])
      : tf.slice(wpe, [past, 0], [T, C]).reshape([1, T, C]);
    let x = tf.add(tok, pos).reshape([B * T, C]) as tf.Tensor2D; // (B, T, C) -> (B·T, C)
    const pass: ForwardPass = { B, T, past, bias: attentionBias(B, T, past, opts.attentionMask), cache: opts.cache };
    for (let l = 0; l < c.n_layer; l++) x = this.block(x, l, pass);
    return layerNorm(x, this.p('transformer.ln_f.weight'), this.p('transformer.ln_f.bias'), c.layer_norm_epsilon);
  }

  /** A pre-LayerNorm block: x + attn(ln_1(x)), then x + mlp(ln_2(x)). (B·T, C) -> (B·T, C). */
  private block(x: tf.Tensor2D, layer: number, pass: ForwardPass): tf.Tensor2D {
    const w = (name: string) => this.p(`transformer.h.${layer}.${name}`);
    const eps = this.config.layer_norm_epsilon;
    x = tf.add(x, this.attention(layerNorm(x, w('ln_1.weight'), w('ln_1.bias'), eps), layer, pass));
    return tf.add(x, this.mlp(layerNorm(x, w('ln_2.weight'), w('ln_2.bias'), eps), layer));
  }

  /** Causal self-attention (nanoGPT's CausalSelfAttention), keys and values through the KV cache when decoding. */
  private attention(x: tf.Tensor2D, layer: number, { B, T, past, bias, cache }: ForwardPass): tf.Tensor2D {
    const w = (name: string) => this.p(`transformer.h.${layer}.attn.${name}`);
    const H = this.config.n_head;
    const qkv = linear(x, w('c_attn.weight'), w('c_attn.bias')); // (B·T, C) -> (B·T, 3C)
    // (B·T, C) -> (B·nh, T, hs) for each of q, k, v
    const [q, kNew, vNew] = tf.split(qkv, 3, 1).map((t) => splitHeads(t as tf.Tensor2D, B, T, H)) as Qkv;
    const [k, v] = cache ? cache.append(layer, kNew, vNew) : [kNew, vNew]; // (B·nh, past+T, hs)
    const Tk = past + T;
    // (B·nh, T, hs) x (B·nh, hs, Tk) -> (B·nh, T, Tk) -> (B, nh, T, Tk), the mask broadcast over heads
    const scores = tf.matMul(q, k, false, true).mul(attentionScale(this.config, layer)).reshape([B, H, T, Tk]);
    const att = tf.softmax(tf.add(scores, bias), -1).reshape([B * H, T, Tk]) as tf.Tensor3D;
    const y = mergeHeads(tf.matMul(att, v), B, T, H); // (B·nh, T, Tk) x (B·nh, Tk, hs) -> (B·nh, T, hs) -> (B·T, C)
    return linear(y, w('c_proj.weight'), w('c_proj.bias')); // (B·T, C) -> (B·T, C)
  }

  /** The MLP: c_fc, the activation, c_proj. */
  private mlp(x: tf.Tensor2D, layer: number): tf.Tensor2D {
    const w = (name: string) => this.p(`transformer.h.${layer}.mlp.${name}`);
    const act = activationOf(this.config);
    const fc = linear(x, w('c_fc.weight'), w('c_fc.bias')); // (B·T, C) -> (B·T, 4C), n_inner if set
    const h = TANH_GELUS.has(act) ? geluTanh(fc) : activate(act, fc);
    return linear(h, w('c_proj.weight'), w('c_proj.bias')); // (B·T, 4C) -> (B·T, C)
  }
}

type Qkv = [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];

function layerNorm(x: tf.Tensor2D, g: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), g), b);
}

// GPT-2's "gelu_new": 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), with its
// derivative written out: autodiff through the ~8 elementwise ops would keep
// each of their [tokens, 4·n_embd] inputs for the backward pass (the largest
// activations of the model) and run twice as many ops there. This keeps x and
// the tanh only. x³ is x·x·x: wasm's Pow costs ~10 Muls.
const GELU_K = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;
function geluTanh(x: tf.Tensor2D): tf.Tensor2D {
  type Save = (t: tf.Tensor[]) => void;
  const f = tf.customGrad(((xx: tf.Tensor, save: Save) => {
    // tanh(K·x·(1 + a·x²))
    const t = tf.tanh(tf.mul(tf.mul(xx, tf.add(tf.mul(tf.mul(xx, xx), GELU_A), 1)), GELU_K));
    save([xx, t]);
    return {
      value: tf.mul(tf.mul(xx, 0.5), tf.add(t, 1)),
      // d/dx = 0.5·(1 + t) + 0.5·x·(1 − t²)·K·(1 + 3a·x²)
      gradFunc: (dy: tf.Tensor, [x0, t0]: tf.Tensor[]) =>
        tf.tidy(() => {
          const poly = tf.add(tf.mul(tf.mul(x0!, x0!), 1.5 * GELU_K * GELU_A), 0.5 * GELU_K);
          const sech2 = tf.sub(1, tf.mul(t0!, t0!));
          const d = tf.add(tf.add(tf.mul(t0!, 0.5), 0.5), tf.mul(tf.mul(x0!, sech2), poly));
          return tf.mul(dy, d);
        }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor2D;
}
