// Model configuration, spelled with Hugging Face GPT2Config keys so config.json
// round-trips through transformers unchanged.
import type { TokenizerName } from './tokenizer.js';

export interface Gpt2Config {
  n_layer: number;
  n_head: number;
  n_embd: number;
  n_positions: number;
  vocab_size: number;
  layer_norm_epsilon: number;
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
    activation_function: 'gelu_new',
    initializer_range: 0.02,
    // We train without dropout (determinism, tiny data); say so.
    resid_pdrop: 0.0,
    embd_pdrop: 0.0,
    attn_pdrop: 0.0,
    tie_word_embeddings: true,
    bos_token_id: tokenizer === 'gpt2' ? 50256 : 256,
    eos_token_id: tokenizer === 'gpt2' ? 50256 : 256,
    bpoflow_tokenizer: tokenizer,
  };
}

export function fromHfConfigJson(j: Record<string, unknown>): { config: Gpt2Config; tokenizer: TokenizerName } {
  if (j.model_type !== undefined && j.model_type !== 'gpt2') throw new Error(`unsupported model_type "${String(j.model_type)}" (only gpt2)`);
  const act = j.activation_function ?? 'gelu_new';
  if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') throw new Error(`unsupported activation_function "${String(act)}" (need tanh GELU)`);
  const num = (k: string, d?: number): number => {
    const v = j[k] ?? d;
    if (typeof v !== 'number') throw new Error(`config.json: missing numeric "${k}"`);
    return v;
  };
  const vocab = num('vocab_size');
  const tokenizer = (j.bpoflow_tokenizer as TokenizerName | undefined) ?? (vocab >= 50257 ? 'gpt2' : 'byte');
  return {
    config: {
      n_layer: num('n_layer'),
      n_head: num('n_head'),
      n_embd: num('n_embd'),
      n_positions: num('n_positions', j.n_ctx as number | undefined),
      vocab_size: vocab,
      layer_norm_epsilon: num('layer_norm_epsilon', 1e-5),
    },
    tokenizer,
  };
}
