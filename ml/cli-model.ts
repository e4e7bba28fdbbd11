// Functions behind `bpoflow model …`. Local paths only; the CLI wires them up.
import { selectBackend, type BackendPref } from './backend.js';
import { loadModel, saveModel } from './checkpoint.js';
import { makeConfig, PRESETS, type ModelShape } from './config.js';
import { Gpt2Model } from './gpt2.js';
import { generate, type GenerateOptions } from './sample.js';
import { getTokenizer, type TokenizerName } from './tokenizer.js';
import type { Gpt2Config } from './config.js';

export async function modelInit(opts: {
  size: string | ModelShape;
  tokenizer?: TokenizerName;
  outDir: string;
  seed?: number;
  backend?: BackendPref;
}): Promise<{ dir: string; parameterCount: number; config: Gpt2Config }> {
  await selectBackend(opts.backend);
  const tok = getTokenizer(opts.tokenizer ?? (opts.size === 'gpt2' ? 'gpt2' : 'byte'));
  const config = makeConfig(opts.size, tok.vocabSize);
  const model = Gpt2Model.init(config, opts.seed ?? 0, tok.name);
  try {
    await saveModel(model, opts.outDir);
    return { dir: opts.outDir, parameterCount: model.parameterCount(), config };
  } finally {
    model.dispose();
  }
}

export async function modelInfo(dir: string): Promise<{ config: Gpt2Config; parameterCount: number; tokenizer: TokenizerName }> {
  await selectBackend();
  const model = await loadModel(dir);
  try {
    return { config: model.config, parameterCount: model.parameterCount(), tokenizer: model.tokenizerName };
  } finally {
    model.dispose();
  }
}

export async function modelGenerate(dir: string, prompt: string, opts: GenerateOptions & { backend?: BackendPref } = {}): Promise<string> {
  await selectBackend(opts.backend);
  const model = await loadModel(dir);
  try {
    return generate(model, getTokenizer(model.tokenizerName), [prompt], opts)[0]!;
  } finally {
    model.dispose();
  }
}

export const MODEL_SIZES = Object.keys(PRESETS);
