// Checkpoints are Hugging Face model directories (GPT2LMHeadModel or a
// Llama-family class, chosen by config.json): model.safetensors (or a
// sharded model.safetensors.index.json + shards) + config.json, plus whatever
// tokenizer files and generation_config.json the model came with. The
// in-memory form ({files}) lets the store layer move them to object storage
// without touching disk.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fromHfConfigJson, isTied, type Gpt2Config } from './config.js';
import { Gpt2Model, paramSpecs } from './gpt2.js';
import { HfTokenizer, tokenizerFromFiles } from './hf-tokenizer.js';
import { isLlamaConfigJson } from './llama-config.js';
import { hfConfigJson, modelFromConfig, type CausalLM } from './model.js';
import {
  CONFIG_FILE,
  GENERATION_CONFIG_FILE,
  SHARD_INDEX_FILE,
  TOKENIZER_FILES,
  WEIGHTS_FILE,
  writeModelFolder,
} from './hf-folder.js';
import {
  parseSafetensors,
  parseShardIndex,
  parseShardedSafetensors,
  serializeSafetensors,
  type DType,
  type NamedTensor,
} from './safetensors.js';

export { CONFIG_FILE, WEIGHTS_FILE };

export interface SerializedModel {
  files: Record<string, Uint8Array>;
}

/**
 * What a model brought with it from its folder and that the weights don't
 * capture: config.json's other keys (token ids, task params…), tokenizer files
 * and generation_config.json. Saved again with the model, so an imported model
 * that was fine-tuned here still exports as the folder it came from. Kept
 * beside the model (not on it) so Gpt2Model stays the math alone.
 */
interface Sidecar {
  config: Record<string, unknown>;
  files: Record<string, Uint8Array>;
}
const sidecars = new WeakMap<CausalLM, Sidecar>();
const SIDECAR_FILES: readonly string[] = [GENERATION_CONFIG_FILE, ...TOKENIZER_FILES];

/** Tokenizer files and generation_config.json the model carries (empty for models made here). */
export function sidecarFiles(model: CausalLM): Record<string, Uint8Array> {
  return { ...(sidecars.get(model)?.files ?? {}) };
}

/** Let `to` carry `from`'s folder extras (e.g. a clone that is saved instead of the loaded model). */
export function copySidecar(from: CausalLM, to: CausalLM): void {
  const s = sidecars.get(from);
  if (s) sidecars.set(to, s);
}

export function serializeModel(model: CausalLM, opts: { dtype?: DType } = {}): SerializedModel {
  const side = sidecars.get(model);
  // Our keys win for everything that shapes the math; the source's other keys stay.
  const cfg = { ...(side?.config ?? {}), ...hfConfigJson(model) };
  if (side) {
    for (const k of ['bos_token_id', 'eos_token_id', 'pad_token_id'] as const)
      if (k in side.config) cfg[k] = side.config[k];
    // The weights are rewritten in opts.dtype; the source's dtype note no longer holds.
    delete cfg.dtype;
    delete cfg.torch_dtype;
    // A model with its own tokenizer files is decoded with those, not one of ours.
    if (TOKENIZER_FILES.some((n) => side.files[n])) delete cfg.bpoflow_tokenizer;
  }
  return {
    files: {
      // The model's own tokenizer (a Llama-family folder's) travels with it, also through clone().
      ...(model.tokenizer instanceof HfTokenizer ? model.tokenizer.files : {}),
      ...(side?.files ?? {}),
      // "format: pt" is what transformers checks before trusting a safetensors file.
      [WEIGHTS_FILE]: serializeSafetensors(model.toArrays(), { dtype: opts.dtype, metadata: { format: 'pt' } }),
      [CONFIG_FILE]: new TextEncoder().encode(JSON.stringify(cfg, null, 2) + '\n'),
    },
  };
}

/**
 * The parameter name a checkpoint tensor loads into, or null for tensors that
 * are not parameters. Hub files vary: some drop the "transformer." prefix
 * (distilgpt2), tied ones usually omit lm_head.weight (and when present it is
 * a copy of wte) and some carry the causal-mask buffers.
 */
function canonicalName(name: string, config: Gpt2Config): string | null {
  if (name === 'lm_head.weight') return isTied(config) ? null : name;
  if (name.endsWith('.attn.bias') || name.endsWith('.attn.masked_bias')) return null;
  return name.startsWith('transformer.') ? name : `transformer.${name}`;
}

/**
 * Problems between a checkpoint's tensor names/shapes and what its config
 * needs, as one message (or undefined). Works from safetensors headers, so a
 * folder is checked without decoding its weights.
 */
export function tensorMismatch(
  config: Gpt2Config,
  tensors: Iterable<{ name: string; shape: number[] }>,
): string | undefined {
  const want = new Map(paramSpecs(config).map((s) => [s.name, s.shape]));
  const seen = new Set<string>();
  const extra: string[] = [];
  for (const t of tensors) {
    const c = canonicalName(t.name, config);
    if (!c) continue;
    const shape = want.get(c);
    if (!shape) {
      extra.push(t.name);
      continue;
    }
    if (shape.join(',') !== t.shape.join(',')) return `parameter ${c}: shape [${t.shape}] but config needs [${shape}]`;
    seen.add(c);
  }
  if (extra.length)
    return `checkpoint has unexpected tensors: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''}`;
  const missing = [...want.keys()].filter((n) => !seen.has(n));
  if (missing.length) {
    const why = missing.includes('lm_head.weight')
      ? ' (config.json has tie_word_embeddings: false, so the LM head is its own tensor)'
      : '';
    return `missing parameter ${missing[0]}${missing.length > 1 ? ` and ${missing.length - 1} more` : ''}${why}`;
  }
  return undefined;
}

/** A model from config.json + tensors; `files` may carry the folder's tokenizer files (used by Llama-family models). */
export function modelFromTensors(
  configJson: Record<string, unknown>,
  tensors: Map<string, NamedTensor>,
  files: Record<string, Uint8Array> = {},
): CausalLM {
  if (isLlamaConfigJson(configJson))
    return modelFromConfig(configJson, tensors, tokenizerFromFiles(files, configJson as { eos_token_id?: number }));
  return gpt2FromTensors(configJson, tensors);
}

function gpt2FromTensors(configJson: Record<string, unknown>, tensors: Map<string, NamedTensor>): Gpt2Model {
  const { config, tokenizer } = fromHfConfigJson(configJson);
  const problem = tensorMismatch(
    config,
    [...tensors].map(([name, t]) => ({ name, shape: t.shape })),
  );
  if (problem) throw new Error(problem);
  const arrays = new Map<string, NamedTensor>();
  for (const [name, t] of tensors) {
    const c = canonicalName(name, config);
    if (c) arrays.set(c, t);
  }
  return Gpt2Model.fromArrays(config, arrays, tokenizer);
}

/** Every tensor of a bundle: model.safetensors, or the shards its index names. */
export function tensorsFromFiles(files: Record<string, Uint8Array>): Map<string, NamedTensor> {
  const single = files[WEIGHTS_FILE];
  if (single) return parseSafetensors(single).tensors;
  const index = files[SHARD_INDEX_FILE];
  if (index) return parseShardedSafetensors(parseShardIndex(index), (f) => files[f]);
  throw new Error(`missing ${WEIGHTS_FILE} (or ${SHARD_INDEX_FILE})`);
}

export function deserializeModel(files: Record<string, Uint8Array>): CausalLM {
  const cfgBytes = files[CONFIG_FILE];
  if (!cfgBytes) throw new Error(`missing ${CONFIG_FILE}`);
  const cfg = JSON.parse(new TextDecoder().decode(cfgBytes)) as Record<string, unknown>;
  const model = modelFromTensors(cfg, tensorsFromFiles(files), files);
  const extra: Record<string, Uint8Array> = {};
  for (const n of SIDECAR_FILES) if (files[n]) extra[n] = files[n]!;
  sidecars.set(model, { config: cfg, files: extra });
  return model;
}

export async function saveModel(model: CausalLM, dir: string, opts: { dtype?: DType } = {}): Promise<void> {
  await writeModelFolder(dir, serializeModel(model, opts).files);
}

export async function loadModel(dir: string): Promise<CausalLM> {
  const names = await readdir(dir);
  if (!names.includes(WEIGHTS_FILE) && !names.includes(SHARD_INDEX_FILE)) throw new Error(`${dir}: no ${WEIGHTS_FILE}`);
  const files: Record<string, Uint8Array> = {};
  let wanted = [CONFIG_FILE, WEIGHTS_FILE, ...SIDECAR_FILES];
  if (!names.includes(WEIGHTS_FILE)) {
    const index = await readFile(path.join(dir, SHARD_INDEX_FILE));
    wanted = [...wanted, SHARD_INDEX_FILE, ...parseShardIndex(index).shards];
  }
  for (const n of wanted) if (names.includes(n)) files[n] = await readFile(path.join(dir, n));
  return deserializeModel(files);
}
