// The Llama family (Llama, Qwen2, Mistral), as transformers computes it:
// token embedding, pre-RMSNorm blocks with rotary grouped-query attention and
// a SwiGLU MLP, final RMSNorm, LM head (tied to the embedding or not).
// Parameters are named tf.Variables with the Hugging Face tensor names and
// nn.Linear's [out, in] layout, so a checkpoint is a plain
// LlamaForCausalLM / Qwen2ForCausalLM / MistralForCausalLM safetensors file.
// The x·Wᵀ projections are transposed matMuls: ./wasm-matmul.js keeps those
// on XNNPACK on wasm (stock tfjs-wasm runs them ~10× slower).
import * as tf from '@tensorflow/tfjs';
import {
  applyRope,
  attentionBias,
  embedTokens,
  groupedAttention,
  linearT,
  makeVariable,
  NamedWeights,
  rmsNorm,
  ropeTables,
  splitHeads,
  swiglu,
  type ForwardOptions,
  type ForwardPass,
  type ForwardResult,
} from './blocks.js';
import type { LlamaConfig } from './llama-config.js';
import './wasm-matmul.js';
import { Rng } from './rng.js';
import type { Tokenizer, TokenizerName } from './tokenizer.js';

export interface LlamaParamSpec {
  name: string;
  shape: number[];
  init: 'normal' | 'residual' | 'zeros' | 'ones';
}

export function llamaParamSpecs(c: LlamaConfig): LlamaParamSpec[] {
  const C = c.n_embd;
  const Dq = c.num_attention_heads * c.head_dim;
  const Dkv = c.num_key_value_heads * c.head_dim;
  const I = c.intermediate_size;
  const specs: LlamaParamSpec[] = [{ name: 'model.embed_tokens.weight', shape: [c.vocab_size, C], init: 'normal' }];
  for (let i = 0; i < c.n_layer; i++) {
    const p = `model.layers.${i}.`;
    const lin = (name: string, out: number, inp: number, bias: boolean, init: 'normal' | 'residual' = 'normal') => {
      specs.push({ name: p + name + '.weight', shape: [out, inp], init });
      if (bias) specs.push({ name: p + name + '.bias', shape: [out], init: 'zeros' });
    };
    specs.push({ name: p + 'input_layernorm.weight', shape: [C], init: 'ones' });
    lin('self_attn.q_proj', Dq, C, c.qkv_bias);
    lin('self_attn.k_proj', Dkv, C, c.qkv_bias);
    lin('self_attn.v_proj', Dkv, C, c.qkv_bias);
    lin('self_attn.o_proj', C, Dq, c.o_bias, 'residual');
    specs.push({ name: p + 'post_attention_layernorm.weight', shape: [C], init: 'ones' });
    lin('mlp.gate_proj', I, C, c.mlp_bias);
    lin('mlp.up_proj', I, C, c.mlp_bias);
    lin('mlp.down_proj', C, I, c.mlp_bias, 'residual');
  }
  specs.push({ name: 'model.norm.weight', shape: [C], init: 'ones' });
  if (!c.tie_word_embeddings) specs.push({ name: 'lm_head.weight', shape: [c.vocab_size, C], init: 'normal' });
  return specs;
}

/** transformers' inverse frequencies 1/θ^(2i/D) (float32), with linear or llama3 scaling applied. */
export function ropeInvFreq(c: LlamaConfig): Float64Array {
  const D = c.head_dim;
  const inv = Float64Array.from({ length: D / 2 }, (_, i) =>
    Math.fround(1 / Math.pow(c.rope_theta, Math.fround((2 * i) / D))),
  );
  const s = c.rope_scaling;
  if (s?.rope_type === 'linear') return inv.map((f) => Math.fround(f / s.factor));
  if (s?.rope_type === 'llama3') {
    // Long wavelengths are slowed by `factor`, short ones kept, the band between interpolated.
    const old = s.original_max_position_embeddings;
    const lowWl = old / s.low_freq_factor;
    const highWl = old / s.high_freq_factor;
    return inv.map((f) => {
      const wl = (2 * Math.PI) / f;
      if (wl < highWl) return f;
      if (wl > lowWl) return Math.fround(f / s.factor);
      const smooth = (old / wl - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      return Math.fround((1 - smooth) * (f / s.factor) + smooth * f);
    });
  }
  return inv;
}

export class LlamaModel extends NamedWeights {
  readonly config: LlamaConfig;
  tokenizerName: TokenizerName;
  /** The model folder's own tokenizer (tokenizer.json), when it came with one. */
  tokenizer?: Tokenizer;
  private readonly invFreq: Float64Array;

  constructor(
    config: LlamaConfig,
    params: Map<string, tf.Variable>,
    tokenizerName: TokenizerName = 'byte',
    tokenizer?: Tokenizer,
  ) {
    super(params);
    this.config = config;
    this.tokenizerName = tokenizerName;
    this.tokenizer = tokenizer;
    this.invFreq = ropeInvFreq(config);
  }

  get architecture(): string {
    return this.config.architecture;
  }

  /** N(0, 0.02) like transformers' init; residual projections (o_proj, down_proj) scaled by 1/√(2·n_layer) (GPT-2). */
  static init(
    config: LlamaConfig,
    seed: number,
    tokenizerName: TokenizerName = 'byte',
    tokenizer?: Tokenizer,
  ): LlamaModel {
    const rng = new Rng(seed);
    const params = new Map<string, tf.Variable>();
    const residualStd = 0.02 / Math.sqrt(2 * config.n_layer);
    for (const s of llamaParamSpecs(config)) {
      const data = new Float32Array(s.shape.reduce((a, b) => a * b, 1));
      if (s.init === 'normal') rng.fillNormal(data, 0.02);
      else if (s.init === 'residual') rng.fillNormal(data, residualStd);
      else if (s.init === 'ones') data.fill(1);
      params.set(s.name, makeVariable(data, s.shape, s.name));
    }
    return new LlamaModel(config, params, tokenizerName, tokenizer);
  }

  static fromArrays(
    config: LlamaConfig,
    arrays: Map<string, { shape: number[]; data: Float32Array }>,
    tokenizerName?: TokenizerName,
    tokenizer?: Tokenizer,
  ): LlamaModel {
    const specs = llamaParamSpecs(config);
    const known = new Set(specs.map((s) => s.name));
    // A tied checkpoint may still carry lm_head.weight (a copy); rotary caches are buffers, not weights.
    const extra = [...arrays.keys()].filter(
      (k) =>
        !known.has(k) && !(config.tie_word_embeddings && k === 'lm_head.weight') && !k.endsWith('rotary_emb.inv_freq'),
    );
    if (extra.length)
      throw new Error(
        `checkpoint has unexpected tensors: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''}`,
      );
    const params = new Map<string, tf.Variable>();
    for (const s of specs) {
      const a = arrays.get(s.name);
      if (!a) throw new Error(`missing parameter ${s.name}`);
      if (a.shape.join(',') !== s.shape.join(','))
        throw new Error(`parameter ${s.name}: shape [${a.shape}] but config needs [${s.shape}]`);
      params.set(s.name, makeVariable(a.data, s.shape, s.name));
    }
    return new LlamaModel(config, params, tokenizerName, tokenizer);
  }

  clone(): LlamaModel {
    return LlamaModel.fromArrays(this.config, this.toArrays(), this.tokenizerName, this.tokenizer);
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }

  /** [V, C]: logits = hidden · lmHeadᵀ. */
  lmHead(): tf.Variable {
    return this.p(this.config.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight');
  }

  forward(ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardResult {
    const [B, T] = ids.shape;
    const out = tf.tidy(() => {
      const h = this.trunk(ids, opts);
      const logits = tf.matMul(h, this.lmHead(), false, true).reshape([B, T, this.config.vocab_size]) as tf.Tensor3D;
      const r: Record<string, tf.Tensor> = { logits };
      if (opts.returnHidden) r.hidden = h.reshape([B, T, this.config.n_embd]);
      return r;
    });
    if (opts.cache) opts.cache.length += T;
    return out as unknown as ForwardResult;
  }

  /** Final-norm states [B·T, n_embd] without the LM head. */
  hidden(ids: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.trunk(ids, {}));
  }

  // The trunk, in the same shape as gpt2.ts: token embedding, the blocks, the final
  // RMSNorm; activations (B·T, C) between the pieces. The caller's tidy owns the intermediates.
  private trunk(ids: tf.Tensor2D, opts: ForwardOptions): tf.Tensor2D {
    const c = this.config;
    const [B, T] = ids.shape;
    const cache = opts.cache;
    const past = cache?.length ?? 0;
    if (past + T > c.n_positions && !opts.positionIds)
      throw new Error(`sequence length ${past + T} exceeds max_position_embeddings ${c.n_positions}`);

    let positions: ArrayLike<number>;
    if (opts.positionIds) positions = opts.positionIds.dataSync();
    else {
      const p = new Int32Array(B * T);
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) p[b * T + t] = past + t;
      positions = p;
    }
    const rope = ropeTables(positions, this.invFreq); // (B·T, hs) each

    const flatIds = ids.reshape([B * T]) as tf.Tensor1D;
    let x = embedTokens(this.p('model.embed_tokens.weight'), flatIds, c.vocab_size); // (B·T, C)
    const bias = attentionBias(B, T, past, opts.attentionMask, c.sliding_window);
    const pass: RopePass = { B, T, past, bias, cache, ...rope };
    for (let l = 0; l < c.n_layer; l++) x = this.block(x, l, pass);
    return rmsNorm(x, this.p('model.norm.weight'), c.rms_norm_eps);
  }

  /** A pre-RMSNorm block: x + attn(norm(x)), then x + mlp(norm(x)). (B·T, C) -> (B·T, C). */
  private block(x: tf.Tensor2D, layer: number, pass: RopePass): tf.Tensor2D {
    const w = (name: string) => this.p(`model.layers.${layer}.${name}`);
    const eps = this.config.rms_norm_eps;
    x = tf.add(x, this.attention(rmsNorm(x, w('input_layernorm.weight'), eps), layer, pass));
    return tf.add(x, this.mlp(rmsNorm(x, w('post_attention_layernorm.weight'), eps), layer));
  }

  /** Rotary grouped-query self-attention, keys and values through the KV cache when decoding. */
  private attention(x: tf.Tensor2D, layer: number, { B, T, bias, cache, cos, sin }: RopePass): tf.Tensor2D {
    const a = `model.layers.${layer}.self_attn.`;
    const proj = (name: string, h: tf.Tensor2D) =>
      linearT(h, this.p(`${a}${name}.weight`), this.params.get(`${a}${name}.bias`));
    const H = this.config.num_attention_heads;
    const Hkv = this.config.num_key_value_heads;
    const q = applyRope(proj('q_proj', x), H, cos, sin); // (B·T, C) -> (B·T, nh·hs)
    // (B·T, C) -> (B·T, nkv·hs) -> (B·nkv, T, hs)
    const kNew = splitHeads(applyRope(proj('k_proj', x), Hkv, cos, sin), B, T, Hkv);
    const vNew = splitHeads(proj('v_proj', x), B, T, Hkv);
    const [k, v] = cache ? cache.append(layer, kNew, vNew) : [kNew, vNew]; // (B·nkv, past+T, hs)
    const y = groupedAttention(q, k, v, B, T, H, Hkv, bias); // (B·T, nh·hs)
    return proj('o_proj', y); // (B·T, nh·hs) -> (B·T, C)
  }

  /** The SwiGLU MLP: down(silu(gate(x)) ⊙ up(x)). (B·T, C) -> (B·T, I) -> (B·T, C). */
  private mlp(x: tf.Tensor2D, layer: number): tf.Tensor2D {
    const w = (name: string) => this.p(`model.layers.${layer}.mlp.${name}`);
    const bias = this.config.mlp_bias
      ? { gate: w('gate_proj.bias'), up: w('up_proj.bias'), down: w('down_proj.bias') }
      : undefined;
    return swiglu(x, w('gate_proj.weight'), w('up_proj.weight'), w('down_proj.weight'), bias);
  }
}

/** A forward pass's shared state plus the rotary tables of its positions. */
interface RopePass extends ForwardPass {
  cos: tf.Tensor2D;
  sin: tf.Tensor2D;
}
