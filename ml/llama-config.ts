// Llama-family configuration (LlamaForCausalLM, Qwen2ForCausalLM,
// MistralForCausalLM): read from and written as Hugging Face config.json.
// Every key that changes the forward pass is either implemented here or
// refused with its name; keys that only matter to training in torch
// (dropout, initializer_range) or to storage (dtype) are ignored.
import type { TokenizerName } from './tokenizer.js';

export type LlamaArchitecture = 'LlamaForCausalLM' | 'Qwen2ForCausalLM' | 'MistralForCausalLM';

export const LLAMA_MODEL_TYPES: Record<string, LlamaArchitecture> = {
  llama: 'LlamaForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
  mistral: 'MistralForCausalLM',
};

export interface LlamaConfig {
  architecture: LlamaArchitecture;
  // The dimensions every architecture shares, in the names the rest of ml/ uses.
  n_layer: number;
  n_embd: number;
  n_positions: number;
  vocab_size: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  intermediate_size: number;
  rms_norm_eps: number;
  rope_theta: number;
  /** RoPE frequency scaling; absent = plain RoPE. */
  rope_scaling?: RopeScaling;
  tie_word_embeddings: boolean;
  /** Bias on q/k/v (Qwen2: always; Llama: attention_bias). */
  qkv_bias: boolean;
  /** Bias on o_proj (Llama attention_bias only; Qwen2 has none). */
  o_bias: boolean;
  mlp_bias: boolean;
  /** Keys further back than this many columns are masked (Mistral); undefined = full attention. */
  sliding_window?: number;
  bos_token_id?: number | null;
  eos_token_id?: number | number[] | null;
  pad_token_id?: number | null;
}

export type RopeScaling =
  | { rope_type: 'linear'; factor: number }
  | {
      rope_type: 'llama3';
      factor: number;
      low_freq_factor: number;
      high_freq_factor: number;
      original_max_position_embeddings: number;
    };

export interface LlamaShape {
  architecture: LlamaArchitecture;
  n_layer: number;
  n_embd: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  intermediate_size: number;
  n_positions: number;
  tie_word_embeddings?: boolean;
}

// Small random models for tests and quick runs, like GPT-2's micro/tiny.
// Sizes quoted with the byte tokenizer (vocab 258).
// The three micro presets share one shape (~35k parameters) and differ in architecture.
const MICRO = {
  n_layer: 2,
  n_embd: 32,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  intermediate_size: 64,
  n_positions: 128,
};

export const LLAMA_PRESETS: Record<string, LlamaShape> = {
  'llama-micro': { architecture: 'LlamaForCausalLM', ...MICRO },
  'llama-tiny': {
    architecture: 'LlamaForCausalLM',
    n_layer: 4,
    n_embd: 128,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    intermediate_size: 352,
    n_positions: 256,
  }, // ~0.80M
  'qwen2-micro': { architecture: 'Qwen2ForCausalLM', ...MICRO, tie_word_embeddings: true },
  'mistral-micro': { architecture: 'MistralForCausalLM', ...MICRO },
};

export function makeLlamaConfig(shape: LlamaShape | string, vocabSize: number): LlamaConfig {
  const s = typeof shape === 'string' ? LLAMA_PRESETS[shape] : shape;
  if (!s)
    throw new Error(`unknown Llama-family size "${String(shape)}" (presets: ${Object.keys(LLAMA_PRESETS).join(', ')})`);
  if (s.n_embd % s.num_attention_heads !== 0)
    throw new Error(`n_embd ${s.n_embd} must be divisible by num_attention_heads ${s.num_attention_heads}`);
  if (s.num_attention_heads % s.num_key_value_heads !== 0)
    throw new Error(
      `num_attention_heads ${s.num_attention_heads} must be a multiple of num_key_value_heads ${s.num_key_value_heads}`,
    );
  const qwen = s.architecture === 'Qwen2ForCausalLM';
  return {
    architecture: s.architecture,
    n_layer: s.n_layer,
    n_embd: s.n_embd,
    n_positions: s.n_positions,
    vocab_size: vocabSize,
    num_attention_heads: s.num_attention_heads,
    num_key_value_heads: s.num_key_value_heads,
    head_dim: s.n_embd / s.num_attention_heads,
    intermediate_size: s.intermediate_size,
    rms_norm_eps: qwen ? 1e-6 : 1e-5,
    rope_theta: qwen ? 1e6 : 1e4,
    tie_word_embeddings: s.tie_word_embeddings ?? false,
    qkv_bias: qwen,
    o_bias: false,
    mlp_bias: false,
  };
}

export function isLlamaConfigJson(j: Record<string, unknown>): boolean {
  const arch = Array.isArray(j.architectures) ? String(j.architectures[0]) : undefined;
  if (arch) return Object.values(LLAMA_MODEL_TYPES).includes(arch as LlamaArchitecture);
  return typeof j.model_type === 'string' && j.model_type in LLAMA_MODEL_TYPES;
}

const fail = (msg: string): never => {
  throw new Error(`config.json: ${msg}`);
};

/** Parses an HF config.json of a Llama-family model; refuses what isn't implemented, by key. */
export function llamaConfigFromJson(j: Record<string, unknown>): {
  config: LlamaConfig;
  tokenizer: TokenizerName | undefined;
} {
  const archs = Array.isArray(j.architectures) ? j.architectures.map(String) : [];
  const byType = typeof j.model_type === 'string' ? LLAMA_MODEL_TYPES[j.model_type] : undefined;
  const architecture =
    (archs.find((a) => Object.values(LLAMA_MODEL_TYPES).includes(a as LlamaArchitecture)) as
      LlamaArchitecture | undefined) ?? byType;
  if (!architecture)
    fail(
      `architectures ${JSON.stringify(archs)} / model_type ${JSON.stringify(j.model_type)} is not a Llama-family causal LM (LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM)`,
    );
  const arch = architecture!;
  const num = (k: string, d?: number): number => {
    const v = j[k] ?? d;
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`missing numeric "${k}"`);
    return v as number;
  };
  const bool = (k: string, d: boolean): boolean => {
    const v = j[k] ?? d;
    if (typeof v !== 'boolean') fail(`"${k}" must be true or false`);
    return v as boolean;
  };

  const act = j.hidden_act ?? 'silu';
  if (act !== 'silu') fail(`hidden_act "${String(act)}" is not supported (only silu, the SwiGLU MLP)`);

  // RoPE: transformers ≥ 5 writes rope_parameters {rope_type, rope_theta}; older files rope_theta + rope_scaling.
  const rp = (j.rope_parameters ?? null) as Record<string, unknown> | null;
  const rs = (j.rope_scaling ?? null) as Record<string, unknown> | null;
  let rope_scaling: RopeScaling | undefined;
  for (const [key, r] of [
    ['rope_parameters', rp],
    ['rope_scaling', rs],
  ] as const) {
    if (r === null) continue;
    if (typeof r !== 'object') fail(`"${key}" must be an object or null`);
    const type = r.rope_type ?? r.type ?? 'default';
    const f = (k: string): number => {
      if (typeof r[k] !== 'number') fail(`${key}.${k} must be a number for rope_type "${String(type)}"`);
      return r[k] as number;
    };
    if (type === 'linear') rope_scaling = { rope_type: 'linear', factor: f('factor') };
    else if (type === 'llama3') {
      rope_scaling = {
        rope_type: 'llama3',
        factor: f('factor'),
        low_freq_factor: f('low_freq_factor'),
        high_freq_factor: f('high_freq_factor'),
        original_max_position_embeddings: f('original_max_position_embeddings'),
      };
    } else if (type !== 'default')
      fail(`${key}.rope_type "${String(type)}" is not supported (default, linear and llama3 are)`);
  }
  const rope_theta = typeof rp?.rope_theta === 'number' ? rp.rope_theta : num('rope_theta', 10000);
  const prf = (rp?.partial_rotary_factor ?? j.partial_rotary_factor ?? 1) as number;
  if (prf !== 1) fail(`partial_rotary_factor ${prf} is not supported (only 1)`);

  const n_embd = num('hidden_size');
  const H = num('num_attention_heads');
  const Hkv = num('num_key_value_heads', H);
  if (H % Hkv !== 0) fail(`num_attention_heads ${H} is not a multiple of num_key_value_heads ${Hkv}`);
  const head_dim = j.head_dim === null || j.head_dim === undefined ? n_embd / H : num('head_dim');
  if (!Number.isInteger(head_dim) || head_dim % 2 !== 0)
    fail(`head_dim ${head_dim} must be an even integer (RoPE rotates pairs)`);

  const n_positions = num('max_position_embeddings');
  let sliding_window: number | undefined;
  if (arch === 'MistralForCausalLM') {
    if (j.sliding_window !== null && j.sliding_window !== undefined) sliding_window = num('sliding_window');
  } else if (arch === 'Qwen2ForCausalLM') {
    const layerTypes = Array.isArray(j.layer_types) ? j.layer_types.map(String) : [];
    if (j.use_sliding_window === true || layerTypes.some((t) => t !== 'full_attention')) {
      fail('use_sliding_window / layer_types "sliding_attention" (Qwen2 per-layer sliding window) is not supported');
    }
  }
  if (
    arch !== 'Qwen2ForCausalLM' &&
    Array.isArray(j.layer_types) &&
    j.layer_types.some((t) => t !== 'full_attention' && t !== 'sliding_attention')
  ) {
    fail(`layer_types ${JSON.stringify(j.layer_types)} is not supported`);
  }
  for (const k of [
    'attn_logit_softcapping',
    'final_logit_softcapping',
    'query_pre_attn_scalar',
    'logits_scaling',
    'embedding_multiplier',
    'residual_multiplier',
    'attention_multiplier',
    'qk_norm',
  ]) {
    if (j[k] !== undefined && j[k] !== null && j[k] !== false) fail(`"${k}" is not supported`);
  }

  const attention_bias = arch === 'LlamaForCausalLM' ? bool('attention_bias', false) : false;
  const config: LlamaConfig = {
    architecture: arch,
    n_layer: num('num_hidden_layers'),
    n_embd,
    n_positions,
    vocab_size: num('vocab_size'),
    num_attention_heads: H,
    num_key_value_heads: Hkv,
    head_dim,
    intermediate_size: num('intermediate_size'),
    rms_norm_eps: num('rms_norm_eps', 1e-6),
    rope_theta,
    rope_scaling,
    // transformers' default for all three classes is false.
    tie_word_embeddings: bool('tie_word_embeddings', false),
    qkv_bias: arch === 'Qwen2ForCausalLM' || attention_bias,
    o_bias: attention_bias,
    mlp_bias: arch === 'LlamaForCausalLM' ? bool('mlp_bias', false) : false,
    sliding_window,
    bos_token_id: j.bos_token_id as number | null | undefined,
    eos_token_id: j.eos_token_id as number | number[] | null | undefined,
    pad_token_id: j.pad_token_id as number | null | undefined,
  };
  return { config, tokenizer: j.bpoflow_tokenizer as TokenizerName | undefined };
}

const MODEL_TYPE: Record<LlamaArchitecture, string> = {
  LlamaForCausalLM: 'llama',
  Qwen2ForCausalLM: 'qwen2',
  MistralForCausalLM: 'mistral',
};

/** config.json as transformers (4.x and 5.x) reads it, plus our tokenizer choice. */
export function llamaConfigToJson(c: LlamaConfig, tokenizer: TokenizerName): Record<string, unknown> {
  const j: Record<string, unknown> = {
    architectures: [c.architecture],
    model_type: MODEL_TYPE[c.architecture],
    hidden_size: c.n_embd,
    intermediate_size: c.intermediate_size,
    num_hidden_layers: c.n_layer,
    num_attention_heads: c.num_attention_heads,
    num_key_value_heads: c.num_key_value_heads,
    head_dim: c.head_dim,
    max_position_embeddings: c.n_positions,
    vocab_size: c.vocab_size,
    hidden_act: 'silu',
    rms_norm_eps: c.rms_norm_eps,
    rope_theta: c.rope_theta,
    rope_scaling: c.rope_scaling ?? null,
    tie_word_embeddings: c.tie_word_embeddings,
    attention_dropout: 0.0,
    initializer_range: 0.02,
    torch_dtype: 'float32',
  };
  if (c.architecture === 'LlamaForCausalLM') Object.assign(j, { attention_bias: c.qkv_bias, mlp_bias: c.mlp_bias });
  if (c.architecture === 'MistralForCausalLM') j.sliding_window = c.sliding_window ?? null;
  if (c.architecture === 'Qwen2ForCausalLM') Object.assign(j, { use_sliding_window: false, sliding_window: null });
  for (const k of ['bos_token_id', 'eos_token_id', 'pad_token_id'] as const) if (c[k] !== undefined) j[k] = c[k];
  if (tokenizer !== 'hf') {
    j.bos_token_id ??= tokenizer === 'gpt2' ? 50256 : 256;
    j.eos_token_id ??= tokenizer === 'gpt2' ? 50256 : 256;
  }
  j.bpoflow_tokenizer = tokenizer;
  return j;
}
