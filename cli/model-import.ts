// Hugging Face model folders in and out of the artifact store: `model import`,
// folder-valued pipeline inputs, `artifacts put DIR` and `model export`.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename, resolve } from 'node:path';
import { fromHfConfigJson } from '../ml/config.js';
import { exportTokenizerFiles } from '../ml/hf-export.js';
import {
  CONFIG_FILE,
  inspectModelFolder,
  modelFolderPaths,
  modelTypeOf,
  ModelFolderError,
  TOKENIZER_FILES,
  writeModelFolder,
  type ModelFolder,
} from '../ml/hf-folder.js';
import type { ArtifactStore } from '../store/artifacts.js';

/** Loads the tfjs-backed checkpoint code only when a folder's tensors are checked. */
async function checkTensors(folder: ModelFolder): Promise<void> {
  if (folder.modelType !== 'gpt2') return; // other architectures check their tensors when they load
  const { tensorMismatch } = await import('../ml/model-files.js');
  const problem = tensorMismatch(fromHfConfigJson(folder.config).config, folder.tensors);
  if (problem) throw new ModelFolderError(`${folder.dir}: ${problem}`);
}

/** sha256 over the carried files' names and bytes: the same folder always maps to the same URI. */
async function folderDigest(folder: ModelFolder): Promise<string> {
  const all = createHash('sha256');
  for (const [name, file] of Object.entries(modelFolderPaths(folder)).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const h = createHash('sha256');
    for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
    all.update(`${name}\0${h.digest('hex')}\n`);
  }
  return all.digest('hex');
}

export interface ImportResult {
  uri: string;
  folder: ModelFolder;
  /** false when the same content was already at the default URI. */
  uploaded: boolean;
}

/**
 * Check a model folder and upload it as a model bundle (weights streamed from
 * disk). Without `uri` it goes to a content-addressed key under `prefix`
 * (default models/), so importing the same folder twice uploads it once.
 */
export async function importModelFolder(
  store: ArtifactStore,
  dir: string,
  opts: { uri?: string; prefix?: string } = {},
): Promise<ImportResult> {
  const folder = inspectModelFolder(resolve(dir));
  await checkTensors(folder);
  let uri = opts.uri;
  if (!uri) {
    const digest = await folderDigest(folder);
    uri = `s3://${store.bucket}/${opts.prefix ?? 'models'}/${digest.slice(0, 16)}/${basename(folder.dir)}`;
    if (await store.exists(uri)) return { uri, folder, uploaded: false };
  }
  const ref = await store.putBundle(uri, modelFolderPaths(folder), {
    kind: 'model',
    attributes: {
      source: 'huggingface-folder',
      model_type: folder.modelType,
      ...(Array.isArray(folder.config.architectures) ? { architectures: folder.config.architectures } : {}),
      weights: folder.weights,
      parameters: folder.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0),
      tokenizer: folder.files.filter((f) => (TOKENIZER_FILES as readonly string[]).includes(f)),
    },
  });
  return { uri: ref.uri, folder, uploaded: true };
}

/**
 * Write a model artifact as a folder transformers loads: its config.json (HF
 * keys), weights, and tokenizer files (ours written out as tokenizer.json
 * when the model uses a bpoflow tokenizer and carries none).
 */
export async function exportModel(
  store: ArtifactStore,
  uri: string,
  dir: string,
): Promise<{ files: string[]; notes: string[] }> {
  const files = await store.readBundle(uri);
  const cfgBytes = files[CONFIG_FILE];
  if (!cfgBytes) throw new ModelFolderError(`${uri}: not a model bundle (no ${CONFIG_FILE})`);
  const config = JSON.parse(new TextDecoder().decode(cfgBytes)) as Record<string, unknown>;
  const notes: string[] = [];
  if (modelTypeOf(config) === 'gpt2') {
    const { tokenizer } = fromHfConfigJson(config);
    if (!TOKENIZER_FILES.some((n) => files[n])) {
      const tok = exportTokenizerFiles(tokenizer);
      Object.assign(files, tok.files);
      notes.push(...tok.notes);
    }
  }
  return { files: await writeModelFolder(dir, files), notes };
}
