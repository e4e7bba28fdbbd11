// What a Hugging Face model folder is, as `model import`, pipeline inputs and
// `model export` see it: config.json, the weights (model.safetensors, or
// model.safetensors.index.json + its shards), tokenizer files and
// generation_config.json. Everything else (README.md, .gitattributes, ONNX
// exports, pickled duplicates) is left behind.
//
// No tensors are decoded here (only safetensors headers are read) and nothing
// imports tfjs, so `bpoflow validate` can check a folder cheaply.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fromHfConfigJson } from './config.js';
import { LLAMA_MODEL_TYPES, llamaConfigFromJson } from './llama-config.js';
import {
  headerSize,
  parseSafetensorsHeader,
  parseShardIndex,
  SHARD_INDEX_FILE,
  type TensorEntry,
} from './safetensors.js';

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';
export { SHARD_INDEX_FILE };
export const GENERATION_CONFIG_FILE = 'generation_config.json';
/** Tokenizer files transformers writes or reads (fast and slow tokenizers, chat templates). */
export const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
  'vocab.txt',
  'tokenizer.model',
  'chat_template.jinja',
  'chat_template.json',
] as const;

/** The one line a user with a pickled checkpoint needs (we never unpickle: it runs arbitrary code). */
export function conversionHint(dir: string): string {
  return `python -c "from transformers import AutoModelForCausalLM as M; M.from_pretrained('${dir}').save_pretrained('${dir}', safe_serialization=True)"`;
}

export class ModelFolderError extends Error {
  override name = 'ModelFolderError';
}

export interface ModelFolder {
  dir: string;
  config: Record<string, unknown>;
  /** model_type from config.json (gpt2 when absent, as our own early checkpoints were). */
  modelType: string;
  weights: 'single' | 'sharded';
  /** Files carried into the bundle, by name. */
  files: string[];
  /** Files in the folder that are not carried (so the CLI can say what it left out). */
  ignored: string[];
  /** Tensor names and shapes from the safetensors headers (all shards). */
  tensors: Pick<TensorEntry, 'name' | 'shape' | 'dtype'>[];
}

/**
 * Config checks per model_type: each throws a ConfigError naming the key it
 * cannot honour. Other architectures add their line here.
 */
const CONFIG_CHECKS: Record<string, (config: Record<string, unknown>) => void> = {
  gpt2: (c) => void fromHfConfigJson(c),
  // llama, qwen2, mistral (llama-config.ts refuses what it doesn't implement, by key)
  ...Object.fromEntries(
    Object.keys(LLAMA_MODEL_TYPES).map((t) => [
      t,
      (c: Record<string, unknown>) => {
        try {
          llamaConfigFromJson(c);
        } catch (e) {
          throw new ModelFolderError((e as Error).message);
        }
      },
    ]),
  ),
};

export const SUPPORTED_MODEL_TYPES = (): string[] => Object.keys(CONFIG_CHECKS);

export function modelTypeOf(config: Record<string, unknown>): string {
  return typeof config.model_type === 'string' ? config.model_type : 'gpt2';
}

/** Throws if this config cannot be computed exactly (unknown architecture, refused key). */
export function checkModelConfig(config: Record<string, unknown>): void {
  const type = modelTypeOf(config);
  const check = CONFIG_CHECKS[type];
  if (!check)
    throw new ModelFolderError(
      `config.json: model_type "${type}" is not supported (supported: ${SUPPORTED_MODEL_TYPES().join(', ')})`,
    );
  check(config);
}

function readHeaderOf(file: string): TensorEntry[] {
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  try {
    const first = Buffer.alloc(Math.min(8, size));
    readSync(fd, first, 0, first.length, 0);
    // A folder cloned without git-lfs has 130-byte text pointers instead of weights.
    if (first.toString('latin1').startsWith('version ')) {
      throw new ModelFolderError(
        `${file}: is a Git LFS pointer, not the weights (run \`git lfs pull\` in the folder, or download it with huggingface-cli)`,
      );
    }
    const n = headerSize(first);
    const head = Buffer.alloc(Math.min(n, size));
    readSync(fd, head, 0, head.length, 0);
    return parseSafetensorsHeader(head, size).entries;
  } catch (e) {
    if (e instanceof ModelFolderError) throw e;
    throw new ModelFolderError(`${file}: not a valid safetensors file (${(e as Error).message})`);
  } finally {
    closeSync(fd);
  }
}

function readJsonFile(file: string): Record<string, unknown> {
  let j: unknown;
  try {
    j = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ModelFolderError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (!j || typeof j !== 'object' || Array.isArray(j)) throw new ModelFolderError(`${file}: expected a JSON object`);
  return j as Record<string, unknown>;
}

/**
 * Check that `dir` is a model folder we can load, reading only config.json,
 * the shard index and the safetensors headers. Throws ModelFolderError (or
 * ConfigError) with a message that names the file or key at fault.
 */
export function inspectModelFolder(dir: string): ModelFolder {
  if (!existsSync(dir)) throw new ModelFolderError(`model folder not found: ${dir}`);
  if (!statSync(dir).isDirectory())
    throw new ModelFolderError(
      `${dir}: not a folder (a Hugging Face model folder holds config.json and model.safetensors)`,
    );
  const names = readdirSync(dir).filter((n) => statSync(path.join(dir, n)).isFile());
  const has = (n: string) => names.includes(n);
  const files: string[] = [];
  let weights: ModelFolder['weights'];
  let tensors: TensorEntry[] = [];
  if (has(WEIGHTS_FILE)) {
    weights = 'single';
    tensors = readHeaderOf(path.join(dir, WEIGHTS_FILE));
    files.push(WEIGHTS_FILE);
  } else if (has(SHARD_INDEX_FILE)) {
    weights = 'sharded';
    let index;
    try {
      index = parseShardIndex(readFileSync(path.join(dir, SHARD_INDEX_FILE)));
    } catch (e) {
      throw new ModelFolderError(`${path.join(dir, SHARD_INDEX_FILE)}: ${(e as Error).message}`);
    }
    const missing = index.shards.filter((s) => !has(s));
    if (missing.length)
      throw new ModelFolderError(
        `${dir}: ${SHARD_INDEX_FILE} names ${missing.length} missing shard(s): ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}`,
      );
    for (const s of index.shards) {
      const entries = readHeaderOf(path.join(dir, s));
      for (const e of entries) {
        if (index.weightMap[e.name] !== s)
          throw new ModelFolderError(
            `${path.join(dir, s)}: holds tensor "${e.name}", which ${SHARD_INDEX_FILE} ${index.weightMap[e.name] ? `puts in ${index.weightMap[e.name]}` : 'does not list'}`,
          );
      }
      tensors.push(...entries);
    }
    const held = new Set(tensors.map((t) => t.name));
    const absent = Object.keys(index.weightMap).filter((n) => !held.has(n));
    if (absent.length)
      throw new ModelFolderError(`${dir}: ${SHARD_INDEX_FILE} lists tensor "${absent[0]}" but no shard holds it`);
    files.push(SHARD_INDEX_FILE, ...index.shards);
  } else if (names.some((n) => /^pytorch_model.*\.bin$/.test(n) || n === 'pytorch_model.bin.index.json')) {
    throw new ModelFolderError(
      `${dir}: has only pytorch_model.bin (a pickle, which bpoflow never loads); convert it to safetensors first:\n  ${conversionHint(dir)}`,
    );
  } else if (names.some((n) => n === 'tf_model.h5' || n === 'flax_model.msgpack')) {
    throw new ModelFolderError(
      `${dir}: has TensorFlow/Flax weights only; save it with safetensors first:\n  ${conversionHint(dir)}`,
    );
  } else {
    throw new ModelFolderError(
      `${dir}: no ${WEIGHTS_FILE} or ${SHARD_INDEX_FILE} (a Hugging Face model folder holds config.json and model.safetensors)`,
    );
  }
  if (!has(CONFIG_FILE))
    throw new ModelFolderError(
      `${dir}: no ${CONFIG_FILE} (a Hugging Face model folder holds config.json and model.safetensors)`,
    );
  const config = readJsonFile(path.join(dir, CONFIG_FILE));
  checkModelConfig(config);
  files.unshift(CONFIG_FILE);
  for (const n of [GENERATION_CONFIG_FILE, ...TOKENIZER_FILES]) if (has(n)) files.push(n);
  if (has(GENERATION_CONFIG_FILE)) readJsonFile(path.join(dir, GENERATION_CONFIG_FILE));
  return {
    dir,
    config,
    modelType: modelTypeOf(config),
    weights,
    files,
    ignored: names.filter((n) => !files.includes(n)).sort(),
    tensors: tensors.map(({ name, shape, dtype }) => ({ name, shape, dtype })),
  };
}

/** The carried files as absolute paths by name: what putBundle uploads (streamed from disk). */
export function modelFolderPaths(folder: ModelFolder): Record<string, string> {
  return Object.fromEntries(folder.files.map((n) => [n, path.join(folder.dir, n)]));
}

/** Write a bundle's files as a folder (flat names only: a bundle never writes outside `dir`). */
export async function writeModelFolder(dir: string, files: Record<string, Uint8Array>): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const names = Object.keys(files).sort();
  for (const n of names) {
    if (n.includes('/') || n.includes('\\') || n === '.' || n === '..')
      throw new ModelFolderError(`bundle file ${JSON.stringify(n)} is not a plain file name`);
    await writeFile(path.join(dir, n), files[n]!);
  }
  return names;
}
