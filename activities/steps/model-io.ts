// Models as bundle artifacts (config.json + model.safetensors, i.e. a Hugging
// Face model directory: GPT-2 or Llama-family), named by s3:// URI or by channel (`channel://<name>`,
// resolved to the channel's latest promotion). Reward models are bundles too
// (GPT2ForSequenceClassification); each loader refuses the other kind by name.
import {
  bundleArchitecture,
  deserializeModel,
  deserializeRewardModel,
  getTokenizer,
  initModelFromPreset,
  isRewardBundle,
  RewardModel,
  serializeModel,
  serializeRewardModel,
  type CausalLM,
  type TokenizerName,
} from '../../ml/index.js';
import type { ArtifactRef, ArtifactStore } from '../../store/artifacts.js';
import { Channels } from '../../store/channels.js';
import { BadInput, type StepContext } from '../step-kind.js';
import { producerOf } from './common.js';

export const CHANNEL_PREFIX = 'channel://';

/** `channel://<name>` → the channel's current model URI; an s3:// URI is returned as is. */
export async function resolveModelUri(store: ArtifactStore, ref: string): Promise<string> {
  if (ref.startsWith(CHANNEL_PREFIX)) {
    const name = ref.slice(CHANNEL_PREFIX.length);
    const ptr = await new Channels(store).latest(name);
    if (!ptr) throw new BadInput(`channel "${name}" has no promoted model`);
    return ptr.modelUri;
  }
  if (!ref.startsWith('s3://')) throw new BadInput(`model must be an s3:// URI or channel://<name>, got "${ref}"`);
  return ref;
}

export async function loadModelArtifact(store: ArtifactStore, ref: string): Promise<{ model: CausalLM; uri: string }> {
  const uri = await resolveModelUri(store, ref);
  const files = await store.readBundle(uri);
  if (isRewardBundle(files))
    throw new BadInput(`${uri} is a reward model (${bundleArchitecture(files)}), not a causal language model`);
  return { model: deserializeModel(files), uri };
}

export async function loadRewardModelArtifact(
  store: ArtifactStore,
  ref: string,
): Promise<{ model: RewardModel; uri: string }> {
  const uri = await resolveModelUri(store, ref);
  const files = await store.readBundle(uri);
  if (!isRewardBundle(files)) {
    throw new BadInput(
      `${uri} is not a reward model (its config.json names ${bundleArchitecture(files) ?? 'no architecture'}); train one with model.reward@v1`,
    );
  }
  try {
    return { model: deserializeRewardModel(files), uri };
  } catch (e) {
    throw new BadInput(`${uri}: ${(e as Error).message}`);
  }
}

export interface ModelInit {
  size?: string;
  tokenizer?: TokenizerName;
  seed?: number;
}

export function initModel(init: ModelInit): CausalLM {
  const tok = getTokenizer(init.tokenizer ?? 'byte');
  // `llama-micro`, `qwen2-micro`, … are Llama-family presets; the rest GPT-2's.
  return initModelFromPreset(init.size ?? 'micro', tok, init.seed ?? 0);
}

export async function saveModelArtifact(
  ctx: StepContext,
  name: string,
  model: CausalLM | RewardModel,
  opts: { inputs?: string[]; attributes?: Record<string, unknown> } = {},
): Promise<ArtifactRef> {
  const files = model instanceof RewardModel ? serializeRewardModel(model).files : serializeModel(model).files;
  return ctx.store.putBundle(ctx.outputUri(name), files, {
    kind: 'model',
    producer: producerOf(ctx),
    inputs: opts.inputs ?? [],
    attributes: { parameters: model.parameterCount(), tokenizer: model.tokenizerName, ...(opts.attributes ?? {}) },
  });
}

/**
 * The model a training kind starts from: a fresh seeded one (`init`) or a model
 * artifact (`model`; the argument schema allows exactly one). Its URI joins `inputs`.
 */
export async function startingModel(
  store: ArtifactStore,
  a: { init?: ModelInit; model?: string },
  inputs: string[],
): Promise<CausalLM> {
  if (a.init) return initModel(a.init);
  const loaded = await loadModelArtifact(store, String(a.model));
  inputs.push(loaded.uri);
  return loaded.model;
}
