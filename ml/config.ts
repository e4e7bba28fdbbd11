// Model configuration, spelled with Hugging Face GPT2Config keys so config.json
// round-trips through transformers unchanged.
//
// Every GPT2Config key that changes the forward pass is either implemented
// here and in gpt2.ts or refused by name (see GPT2_KEYS): a checkpoint never
// loads with different math than transformers would give it.
import type { TokenizerName } from './tokenizer.js';

/** Activation functions (transformers' ACT2FN names) the MLP implements. */
export const ACTIVATIONS = [
  'gelu_new',
  'gelu_pytorch_tanh',
  'gelu_python_tanh',
  'gelu_fast',
  'gelu_accurate',
  'gelu',
  'gelu_python',
  'gelu_10',
  'quick_gelu',
  'relu',
  'relu2',
  'relu6',
  'leaky_relu',
  'silu',
  'swish',
  'mish',
  'hardswish',
  'tanh',
  'sigmoid',
  'linear',
] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export interface Gpt2Config {
  n_layer: number;
  n_head: number;
  n_embd: number;
  n_positions: number;
  vocab_size: number;
  layer_norm_epsilon: number;
  // The keys below are optional so code that builds a config by hand keeps
  // GPT-2's defaults; read them through the resolvers in gpt2.ts / below.
  /** MLP width; null/undefined = 4·n_embd. */
  n_inner?: number | null;
  /** Default gelu_new. */
  activation_function?: Activation;
  /** false: a separate lm_head.weight [vocab, n_embd]. Default true. */
  tie_word_embeddings?: boolean;
  /** Divide attention scores by √head_dim. Default true. */
  scale_attn_weights?: boolean;
  /** Also divide layer l's attention scores by l+1. Default false. */
  scale_attn_by_inverse_layer_idx?: boolean;
}

export const mlpWidth = (c: Gpt2Config): number => c.n_inner ?? 4 * c.n_embd;
export const isTied = (c: Gpt2Config): boolean => c.tie_word_embeddings !== false;
export const activationOf = (c: Gpt2Config): Activation => c.activation_function ?? 'gelu_new';

/** The factor layer `layer` (0-based) multiplies q·kᵀ by, as GPT2Attention computes it. */
export function attentionScale(c: Gpt2Config, layer: number): number {
  let s = c.scale_attn_weights === false ? 1 : 1 / Math.sqrt(c.n_embd / c.n_head);
  if (c.scale_attn_by_inverse_layer_idx) s /= layer + 1;
  return s;
}

export interface ModelShape {
  n_layer: number;
  n_head: number;
  n_embd: number;
  n_positions: number;
}

// Sizes quoted with the byte tokenizer (vocab 258). With GPT-2 BPE the
// embedding adds 50257·n_embd parameters on top.
export const PRESETS: Record<string, ModelShape> = {
  micro: { n_layer: 2, n_head: 2, n_embd: 32, n_positions: 128 }, // ~35k, for tests
  tiny: { n_layer: 4, n_head: 4, n_embd: 128, n_positions: 256 }, // ~0.86M
  small: { n_layer: 6, n_head: 6, n_embd: 384, n_positions: 512 }, // ~10.9M
  medium: { n_layer: 8, n_head: 9, n_embd: 576, n_positions: 512 }, // ~32M
  gpt2: { n_layer: 12, n_head: 12, n_embd: 768, n_positions: 1024 }, // 124M with gpt2 tokenizer
};

export function makeConfig(shape: ModelShape | string, vocabSize: number): Gpt2Config {
  const s = typeof shape === 'string' ? PRESETS[shape] : shape;
  if (!s) throw new Error(`unknown model size "${shape}" (presets: ${Object.keys(PRESETS).join(', ')})`);
  if (s.n_embd % s.n_head !== 0) throw new Error(`n_embd ${s.n_embd} must be divisible by n_head ${s.n_head}`);
  return { ...s, vocab_size: vocabSize, layer_norm_epsilon: 1e-5 };
}

/** config.json as transformers expects it, plus our tokenizer choice. */
export function toHfConfigJson(c: Gpt2Config, tokenizer: TokenizerName): Record<string, unknown> {
  return {
    model_type: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    n_layer: c.n_layer,
    n_head: c.n_head,
    n_embd: c.n_embd,
    n_positions: c.n_positions,
    n_ctx: c.n_positions,
    vocab_size: c.vocab_size,
    layer_norm_epsilon: c.layer_norm_epsilon,
    n_inner: c.n_inner ?? null,
    activation_function: activationOf(c),
    scale_attn_weights: c.scale_attn_weights !== false,
    scale_attn_by_inverse_layer_idx: c.scale_attn_by_inverse_layer_idx === true,
    reorder_and_upcast_attn: false,
    add_cross_attention: false,
    initializer_range: 0.02,
    // We train without dropout (determinism, tiny data); say so.
    resid_pdrop: 0.0,
    embd_pdrop: 0.0,
    attn_pdrop: 0.0,
    tie_word_embeddings: isTied(c),
    bos_token_id: tokenizer === 'gpt2' ? 50256 : 256,
    eos_token_id: tokenizer === 'gpt2' ? 50256 : 256,
    bpoflow_tokenizer: tokenizer,
  };
}

/** A config.json we refuse to load, naming the key, so nothing computes differently from transformers. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`config.json: ${message}`);
  }
}

type KeyRule = 'shape' | 'math' | 'inert' | ((v: unknown) => string | undefined);

/**
 * GPT2Config's keys and what each means here. "math" keys are implemented;
 * the functions return a refusal reason (or undefined when the value is fine);
 * "inert" keys do not change inference or training math here.
 */
const GPT2_KEYS: Record<string, KeyRule> = {
  vocab_size: 'shape',
  n_positions: 'shape',
  n_ctx: 'shape',
  n_embd: 'shape',
  n_layer: 'shape',
  n_head: 'shape',
  n_inner: 'math',
  activation_function: 'math',
  layer_norm_epsilon: 'math',
  scale_attn_weights: 'math',
  scale_attn_by_inverse_layer_idx: 'math',
  tie_word_embeddings: 'math',
  // Computes q·kᵀ in float32 with the scale folded in first: a precision
  // choice for fp16 training. We compute in float32 throughout, where the
  // two orders agree to rounding (the reorder_upcast fixture checks it).
  reorder_and_upcast_attn: 'inert',
  add_cross_attention: (v) =>
    v === true ? 'add_cross_attention: true (encoder-decoder cross-attention) is not supported' : undefined,
  // Dropout is off at inference, and training here runs without dropout on
  // purpose (seeded, reproducible steps), so these never enter the math.
  resid_pdrop: 'inert',
  embd_pdrop: 'inert',
  attn_pdrop: 'inert',
  summary_first_dropout: 'inert',
  // Only used to initialise fresh weights, never when loading them.
  initializer_range: 'inert',
  // GPT2DoubleHeadsModel / ForSequenceClassification heads, not the LM.
  summary_type: 'inert',
  summary_use_proj: 'inert',
  summary_activation: 'inert',
  summary_proj_to_labels: 'inert',
  use_cache: 'inert',
  bos_token_id: 'inert',
  eos_token_id: 'inert',
  pad_token_id: 'inert',
};

/**
 * Generic PretrainedConfig keys that would change the math if set. Other
 * generic keys (ids, labels, generation defaults, dtype, versions…) do not.
 */
const GENERIC_REFUSED: Record<string, (v: unknown) => string | undefined> = {
  is_encoder_decoder: (v) => (v === true ? 'is_encoder_decoder: true is not supported' : undefined),
  pruned_heads: (v) =>
    v && typeof v === 'object' && Object.keys(v).length > 0
      ? 'pruned_heads: pruned attention heads are not supported (re-save the model unpruned)'
      : undefined,
  quantization_config: (v) =>
    v
      ? 'quantization_config: quantized checkpoints are not supported (save the model in float32, float16 or bfloat16)'
      : undefined,
};

function checkActivation(v: unknown): Activation {
  if (typeof v === 'string' && (ACTIVATIONS as readonly string[]).includes(v)) return v as Activation;
  throw new ConfigError(
    'activation_function',
    `activation_function ${JSON.stringify(v)} is not supported (supported: ${ACTIVATIONS.join(', ')})`,
  );
}

export function fromHfConfigJson(j: Record<string, unknown>): { config: Gpt2Config; tokenizer: TokenizerName } {
  if (j.model_type !== undefined && j.model_type !== 'gpt2')
    throw new ConfigError('model_type', `unsupported model_type "${String(j.model_type)}" (this loader reads gpt2)`);
  for (const [k, rule] of Object.entries(GPT2_KEYS)) {
    if (typeof rule === 'function' && k in j) {
      const why = rule(j[k]);
      if (why) throw new ConfigError(k, why);
    }
  }
  for (const [k, rule] of Object.entries(GENERIC_REFUSED)) {
    const why = k in j ? rule(j[k]) : undefined;
    if (why) throw new ConfigError(k, why);
  }
  const num = (k: string, d?: number): number => {
    const v = j[k] ?? d;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(k, `missing numeric "${k}"`);
    return v;
  };
  const int = (k: string, d?: number): number => {
    const v = num(k, d);
    if (!Number.isInteger(v) || v <= 0) throw new ConfigError(k, `"${k}" must be a positive integer, got ${v}`);
    return v;
  };
  const bool = (k: string, d: boolean): boolean => {
    const v = j[k] ?? d;
    if (typeof v !== 'boolean') throw new ConfigError(k, `"${k}" must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  const vocab = int('vocab_size');
  const n_embd = int('n_embd');
  const n_head = int('n_head');
  if (n_embd % n_head !== 0) throw new ConfigError('n_head', `n_embd ${n_embd} must be divisible by n_head ${n_head}`);
  const n_inner = j.n_inner === undefined || j.n_inner === null ? null : int('n_inner');
  const eps = num('layer_norm_epsilon', 1e-5);
  if (eps <= 0) throw new ConfigError('layer_norm_epsilon', `"layer_norm_epsilon" must be positive, got ${eps}`);
  const tokenizer = (j.bpoflow_tokenizer as TokenizerName | undefined) ?? (vocab >= 50257 ? 'gpt2' : 'byte');
  const config: Gpt2Config = {
    n_layer: int('n_layer'),
    n_head,
    n_embd,
    n_positions: int('n_positions', j.n_ctx as number | undefined),
    vocab_size: vocab,
    layer_norm_epsilon: eps,
    activation_function: checkActivation(j.activation_function ?? 'gelu_new'),
    tie_word_embeddings: bool('tie_word_embeddings', true),
    scale_attn_weights: bool('scale_attn_weights', true),
    scale_attn_by_inverse_layer_idx: bool('scale_attn_by_inverse_layer_idx', false),
  };
  if (n_inner !== null) config.n_inner = n_inner;
  return { config, tokenizer };
}
