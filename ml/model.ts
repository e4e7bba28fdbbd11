// The seam between architectures and everything that uses a model
// (training, sampling, log-probs, gradient features, embeddings,
// checkpoints). `CausalLM` is what both GPT-2 and the Llama family provide;
// the dispatch functions choose the architecture from a preset name or from
// config.json's `architectures` / `model_type`.
import type * as tf from '@tensorflow/tfjs';
import type { ForwardOptions, ForwardResult } from './blocks.js';
import { fromHfConfigJson, makeConfig, PRESETS, toHfConfigJson } from './config.js';
import { Gpt2Model } from './gpt2.js';
import {
  isLlamaConfigJson,
  LLAMA_PRESETS,
  llamaConfigFromJson,
  llamaConfigToJson,
  makeLlamaConfig,
} from './llama-config.js';
import { LlamaModel } from './llama.js';
import { getTokenizer, type Tokenizer, type TokenizerName } from './tokenizer.js';

/** Dimensions every architecture has, in the names ml/ uses throughout. */
export interface ModelDims {
  n_layer: number;
  n_embd: number;
  /** Longest sequence (max_position_embeddings). */
  n_positions: number;
  vocab_size: number;
}

export interface CausalLM {
  readonly config: ModelDims;
  /** HF tensor name → weight, in checkpoint order. */
  readonly params: Map<string, tf.Variable>;
  tokenizerName: TokenizerName;
  /** Set when the model came with its own tokenizer files (tokenizer.json); wins over tokenizerName. */
  tokenizer?: Tokenizer;
  forward(ids: tf.Tensor2D, opts?: ForwardOptions): ForwardResult;
  /** Final-norm states [B·T, n_embd] without the LM head (losses that apply the head themselves, lmhead.ts). */
  hidden(ids: tf.Tensor2D): tf.Tensor2D;
  /** The LM head weight [vocab, n_embd]: logits = hidden · lmHeadᵀ (the token embedding when tied). */
  lmHead(): tf.Variable;
  p(name: string): tf.Variable;
  parameterCount(): number;
  toArrays(): Map<string, { shape: number[]; data: Float32Array }>;
  clone(): CausalLM;
  dispose(): void;
}

export type NamedArrays = Map<string, { shape: number[]; data: Float32Array }>;

export const ARCHITECTURES = ['GPT2LMHeadModel', 'LlamaForCausalLM', 'Qwen2ForCausalLM', 'MistralForCausalLM'] as const;

export function architectureOf(model: CausalLM): string {
  return model instanceof LlamaModel ? model.config.architecture : 'GPT2LMHeadModel';
}

/** The tokenizer a model was trained with: its own files if it has them, else the named built-in one. */
export function tokenizerOf(model: CausalLM): Tokenizer {
  return model.tokenizer ?? getTokenizer(model.tokenizerName);
}

/** Name prefix of block `i`'s parameters (gradient-feature filters such as `last-block`). */
export function blockPrefix(model: CausalLM, i: number): string {
  return model instanceof LlamaModel ? `model.layers.${i}.` : `transformer.h.${i}.`;
}

/** Every preset name: GPT-2's (micro, tiny, …) and the Llama family's (llama-micro, qwen2-micro, …). */
export const MODEL_PRESETS = [...Object.keys(PRESETS), ...Object.keys(LLAMA_PRESETS)];

/** A seeded random model of a preset size; `llama-*`, `qwen2-*`, `mistral-*` presets are Llama-family. */
export function initModelFromPreset(size: string, tokenizer: Tokenizer, seed: number): CausalLM {
  if (size in LLAMA_PRESETS)
    return LlamaModel.init(
      makeLlamaConfig(size, tokenizer.vocabSize),
      seed,
      tokenizer.name,
      tokenizer.name === 'hf' ? tokenizer : undefined,
    );
  const m = Gpt2Model.init(makeConfig(size, tokenizer.vocabSize), seed, tokenizer.name);
  if (tokenizer.name === 'hf') m.tokenizer = tokenizer;
  return m;
}

/** config.json for this model (transformers-readable). */
export function hfConfigJson(model: CausalLM): Record<string, unknown> {
  if (model instanceof LlamaModel) return llamaConfigToJson(model.config, model.tokenizerName);
  return toHfConfigJson((model as Gpt2Model).config, model.tokenizerName);
}

/**
 * A model from config.json and its tensors (HF names). Llama-family configs
 * go to LlamaModel; anything else is read as GPT-2 (which refuses what it
 * isn't). `tokenizer` is the folder's own, if it has one.
 */
export function modelFromConfig(
  configJson: Record<string, unknown>,
  arrays: NamedArrays,
  tokenizer?: Tokenizer,
  gpt2: (j: Record<string, unknown>, a: NamedArrays) => Gpt2Model = defaultGpt2,
): CausalLM {
  if (isLlamaConfigJson(configJson)) {
    const { config, tokenizer: name } = llamaConfigFromJson(configJson);
    if (tokenizer && tokenizer.vocabSize > config.vocab_size)
      throw new Error(`tokenizer has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${config.vocab_size}`);
    return LlamaModel.fromArrays(
      config,
      arrays,
      tokenizer ? 'hf' : (name ?? (config.vocab_size === 258 ? 'byte' : 'hf')),
      tokenizer,
    );
  }
  const m = gpt2(configJson, arrays);
  if (tokenizer) {
    m.tokenizer = tokenizer;
    m.tokenizerName = 'hf';
  }
  return m;
}

function defaultGpt2(j: Record<string, unknown>, arrays: NamedArrays): Gpt2Model {
  const { config, tokenizer } = fromHfConfigJson(j);
  return Gpt2Model.fromArrays(config, arrays, tokenizer);
}
