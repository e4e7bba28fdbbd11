// Public API of the learning core.
export { selectBackend, currentBackend, type BackendPref, type BackendChoice } from './backend.js';
export { Rng, type RngState } from './rng.js';
export {
  PRESETS,
  ACTIVATIONS,
  makeConfig,
  toHfConfigJson,
  fromHfConfigJson,
  ConfigError,
  type Gpt2Config,
  type ModelShape,
  type Activation,
} from './config.js';
export { Gpt2Model, KvCache, paramSpecs, countParams, type ForwardOptions, type ForwardResult } from './gpt2.js';
export { LlamaModel, llamaParamSpecs } from './llama.js';
export {
  LLAMA_PRESETS,
  makeLlamaConfig,
  llamaConfigFromJson,
  llamaConfigToJson,
  isLlamaConfigJson,
  type LlamaConfig,
  type LlamaArchitecture,
} from './llama-config.js';
export {
  architectureOf,
  blockPrefix,
  hfConfigJson,
  initModelFromPreset,
  modelFromConfig,
  tokenizerOf,
  MODEL_PRESETS,
  ARCHITECTURES,
  type CausalLM,
  type ModelDims,
} from './model.js';
export { HfTokenizer, tokenizerFromFiles, TOKENIZER_FILES } from './hf-tokenizer.js';
export {
  renderChat,
  encodeConversation,
  chatPromptResponse,
  chatPieces,
  hasChatTemplate,
  type ChatMessage,
} from './chat.js';
export {
  parseSafetensors,
  serializeSafetensors,
  SafetensorsError,
  type NamedTensor,
  type DType,
} from './safetensors.js';
export {
  saveModel,
  loadModel,
  serializeModel,
  deserializeModel,
  modelFromTensors,
  tensorsFromFiles,
  tensorMismatch,
  sidecarFiles,
  copySidecar,
  type SerializedModel,
} from './model-files.js';
export {
  inspectModelFolder,
  modelFolderPaths,
  writeModelFolder,
  checkModelConfig,
  conversionHint,
  ModelFolderError,
  type ModelFolder,
} from './hf-folder.js';
export { ByteTokenizer, Gpt2Tokenizer, getTokenizer, type Tokenizer, type TokenizerName } from './tokenizer.js';
export { encodeExample, encodeItem, collate, type Batch, type EncodedSeq, type PromptItem } from './data.js';
export { logProbs, batchLogps, type SequenceLogps } from './logprobs.js';
export { dpoLosses, logSigmoid, type DpoLossType } from './losses.js';
export { AdamW, learningRateAt, clipGlobalNorm, type ScheduleType } from './optim.js';
export {
  runTrainLoop,
  TRAIN_DEFAULTS,
  type TrainConfig,
  type TrainResult,
  type StepMetrics,
  type LoopHooks,
  type Trainable,
  type TrainKind,
} from './train/loop.js';
export { serializeTrainState, restoreTrainState, readTrainProgress, type TrainProgress } from './train/state.js';
export { trainSft, sftLoss, encodeSftExample, type SftExample, type SftConfig } from './train/sft.js';
export {
  trainDpo,
  computeRefLogps,
  dpoBatchLoss,
  DPO_DEFAULTS,
  type PreferencePair,
  type RefLogps,
  type DpoConfig,
} from './train/dpo.js';
export { perSampleGradFeatures, selectParams, type ParamFilter, type GradFeatures } from './persample.js';
export { embedPrompts } from './embed.js';
export { generate, generateTokens, pickToken, type GenerateOptions } from './sample.js';
export {
  RewardModel,
  trainReward,
  rewardBatchLoss,
  scoreTexts,
  pairwiseStats,
  encodeForReward,
  serializeRewardModel,
  deserializeRewardModel,
  rewardConfigJson,
  isRewardBundle,
  bundleArchitecture,
  REWARD_ARCHITECTURE,
  type RewardBackbone,
  type PairwiseEval,
} from './reward.js';
export { tensorBytes } from './memory.js';
export { epochOrder, trainingIndices, firstUses } from './train/order.js';
