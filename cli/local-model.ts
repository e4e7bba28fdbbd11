// Functions behind `bpoflow model init | info | generate` on local paths; model-commands.ts wires them up.
import {
  Gpt2Model,
  generate,
  getTokenizer,
  initModelFromPreset,
  loadModel,
  makeConfig,
  saveModel,
  selectBackend,
  tokenizerOf,
  type BackendPref,
  type CausalLM,
  type GenerateOptions,
  type ModelDims,
  type ModelShape,
  type TokenizerName,
} from '../ml/index.js';

export async function modelInit(opts: {
  size: string | ModelShape;
  tokenizer?: TokenizerName;
  outDir: string;
  seed?: number;
  backend?: BackendPref;
}): Promise<{ dir: string; parameterCount: number; config: ModelDims }> {
  await selectBackend(opts.backend);
  const tok = getTokenizer(opts.tokenizer ?? (opts.size === 'gpt2' ? 'gpt2' : 'byte'));
  const model: CausalLM =
    typeof opts.size === 'string'
      ? initModelFromPreset(opts.size, tok, opts.seed ?? 0)
      : Gpt2Model.init(makeConfig(opts.size, tok.vocabSize), opts.seed ?? 0, tok.name);
  try {
    await saveModel(model, opts.outDir);
    return { dir: opts.outDir, parameterCount: model.parameterCount(), config: model.config };
  } finally {
    model.dispose();
  }
}

export async function modelInfo(
  dir: string,
): Promise<{ config: ModelDims; parameterCount: number; tokenizer: TokenizerName }> {
  await selectBackend();
  const model = await loadModel(dir);
  try {
    return { config: model.config, parameterCount: model.parameterCount(), tokenizer: model.tokenizerName };
  } finally {
    model.dispose();
  }
}

export async function modelGenerate(
  dir: string,
  prompt: string,
  opts: GenerateOptions & { backend?: BackendPref } = {},
): Promise<string> {
  await selectBackend(opts.backend);
  const model = await loadModel(dir);
  try {
    return generate(model, tokenizerOf(model), [prompt], opts)[0]!;
  } finally {
    model.dispose();
  }
}
