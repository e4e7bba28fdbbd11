// Checkpoints are Hugging Face model directories: model.safetensors +
// config.json (GPT2LMHeadModel or a Llama-family class, chosen by
// config.json), plus the tokenizer files when the model has its own. The
// in-memory form ({files}) lets the store layer move them to object storage
// without touching disk.
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fromHfConfigJson } from './config.js';
import { Gpt2Model, paramSpecs } from './gpt2.js';
import { HfTokenizer, TOKENIZER_FILES, tokenizerFromFiles } from './hf-tokenizer.js';
import { hfConfigJson, modelFromConfig, type CausalLM } from './model.js';
import { parseSafetensors, serializeSafetensors, type DType, type NamedTensor } from './safetensors.js';

export const WEIGHTS_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';

export interface SerializedModel {
  files: Record<string, Uint8Array>;
}

export function serializeModel(model: CausalLM, opts: { dtype?: DType } = {}): SerializedModel {
  const cfg = hfConfigJson(model);
  return {
    files: {
      ...(model.tokenizer instanceof HfTokenizer ? model.tokenizer.files : {}),
      // "format: pt" is what transformers checks before trusting a safetensors file.
      [WEIGHTS_FILE]: serializeSafetensors(model.toArrays(), { dtype: opts.dtype, metadata: { format: 'pt' } }),
      [CONFIG_FILE]: new TextEncoder().encode(JSON.stringify(cfg, null, 2) + '\n'),
    },
  };
}

// Hub files vary: some drop the "transformer." prefix (distilgpt2), most
// omit lm_head.weight (tied) and some carry the causal-mask buffers.
function canonicalName(name: string): string | null {
  if (name === 'lm_head.weight' || name.endsWith('.attn.bias') || name.endsWith('.attn.masked_bias')) return null;
  return name.startsWith('transformer.') ? name : `transformer.${name}`;
}

/** A model from config.json + tensors; `files` may carry the folder's tokenizer files. */
export function modelFromTensors(configJson: Record<string, unknown>, tensors: Map<string, NamedTensor>, files: Record<string, Uint8Array> = {}): CausalLM {
  const tokenizer = tokenizerFromFiles(files, configJson as { eos_token_id?: number });
  return modelFromConfig(configJson, tensors, tokenizer, gpt2FromTensors);
}

function gpt2FromTensors(configJson: Record<string, unknown>, tensors: Map<string, NamedTensor>): Gpt2Model {
  const { config, tokenizer } = fromHfConfigJson(configJson);
  const arrays = new Map<string, NamedTensor>();
  for (const [name, t] of tensors) {
    const c = canonicalName(name);
    if (c) arrays.set(c, t);
  }
  const known = new Set(paramSpecs(config).map((s) => s.name));
  const extra = [...arrays.keys()].filter((k) => !known.has(k));
  if (extra.length) throw new Error(`checkpoint has unexpected tensors: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''}`);
  return Gpt2Model.fromArrays(config, arrays, tokenizer);
}

export function deserializeModel(files: Record<string, Uint8Array>): CausalLM {
  const cfgBytes = files[CONFIG_FILE];
  const weights = files[WEIGHTS_FILE];
  if (!cfgBytes) throw new Error(`missing ${CONFIG_FILE}`);
  if (!weights) throw new Error(`missing ${WEIGHTS_FILE}`);
  const cfg = JSON.parse(new TextDecoder().decode(cfgBytes)) as Record<string, unknown>;
  return modelFromTensors(cfg, parseSafetensors(weights).tensors, files);
}

export async function saveModel(model: CausalLM, dir: string, opts: { dtype?: DType } = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  const { files } = serializeModel(model, opts);
  for (const [name, bytes] of Object.entries(files)) await writeFile(path.join(dir, name), bytes);
}

export async function loadModel(dir: string): Promise<CausalLM> {
  const names = await readdir(dir);
  if (!names.includes(WEIGHTS_FILE)) {
    if (names.some((n) => n.endsWith('.index.json'))) throw new Error(`${dir}: sharded checkpoints are not supported`);
    throw new Error(`${dir}: no ${WEIGHTS_FILE}`);
  }
  const files: Record<string, Uint8Array> = {
    [CONFIG_FILE]: await readFile(path.join(dir, CONFIG_FILE)),
    [WEIGHTS_FILE]: await readFile(path.join(dir, WEIGHTS_FILE)),
  };
  for (const n of TOKENIZER_FILES) if (names.includes(n)) files[n] = await readFile(path.join(dir, n));
  return deserializeModel(files);
}
