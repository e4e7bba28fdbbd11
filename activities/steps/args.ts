// Argument schemas several kinds share, each written once: the dataset a step reads,
// its format, a model to start from, and the knobs of the training loop (model.sft,
// model.reward, bpo.train). Kinds spread these into their own `Type.Object`.
import { TRAIN_DEFAULTS } from '../../ml/index.js';
import { StringEnum, Type, withDefault } from '../kind-schema.js';

export const dataArg = (description: string) => Type.String({ pattern: '^s3://', description });

export const modelArg = (description: string) => Type.String({ pattern: '^(s3://|channel://)', description });

/** The channel clause of a model argument's description. */
export const CHANNEL_PINNED =
  'pinned when the run starts, so every step and retry of a run sees the same model and the step cache keys on it';

const FORMATS = ['auto', 'pairs', 'multi', 'chat', 'hh'] as const;
type Format = (typeof FORMATS)[number];

/** `format`, default auto; `only` narrows the formats a kind accepts (preference kinds take no chat rows). */
export const formatArg = (description?: string, only: readonly Format[] = FORMATS) =>
  withDefault(StringEnum([...only], description === undefined ? {} : { description }), 'auto');

export const FORMAT_DESCRIPTION =
  'auto: detected from the first row; pairs: TRL {prompt, chosen, rejected}; ' +
  'multi: {prompt, responses:[{text, score}]}; chat: {messages}; hh: HH-RLHF transcripts';

/** `format` for kinds that read preference pairs. */
export const preferenceFormatArg = () =>
  formatArg('preference data: pairs (TRL), multi (best vs worst scored response), hh; auto detects', [
    'auto',
    'pairs',
    'multi',
    'hh',
  ]);

/** `onError` of kinds that list the rows they skip. */
export const ON_ERROR_SKIP_LISTED =
  'a bad row fails the step (with its row number), or is skipped and listed in skippedRows';

export const SKIPPED_ROWS_OUTPUT = {
  type: 'artifact',
  description: 'skipped.jsonl: one {row, reason, excerpt} per skipped row (empty when none)',
} as const;

export const onErrorArg = (description?: string) =>
  withDefault(StringEnum(['fail', 'skip'], description === undefined ? {} : { description }), 'fail');

export const batchSizeArg = (value: number, description: string) =>
  withDefault(Type.Integer({ minimum: 1, description }), value);

/** `maxLength`, unset meaning the model's n_positions; `what` says what a sequence holds. */
export const maxLengthArg = (what?: string) =>
  Type.Optional(
    Type.Integer({
      minimum: 2,
      description: `tokens per sequence${what ? ` (${what})` : ''}; default the model's n_positions`,
    }),
  );

/** The training loop's schedule, clipping, data order and checkpointing (ml/train/loop.ts). */
const trainingLoopArgs = {
  warmupSteps: withDefault(
    Type.Integer({ minimum: 0, description: 'linear warmup updates' }),
    TRAIN_DEFAULTS.warmupSteps,
  ),
  schedule: withDefault(
    StringEnum(['linear', 'cosine', 'constant'], { description: 'learning-rate decay after warmup' }),
    TRAIN_DEFAULTS.lrSchedule,
  ),
  epochs: withDefault(
    Type.Number({ exclusiveMinimum: 0, description: 'passes over the data (ignored when maxSteps is set)' }),
    TRAIN_DEFAULTS.epochs,
  ),
  maxSteps: Type.Optional(Type.Integer({ minimum: 1, description: 'optimizer updates to run; overrides epochs' })),
  gradAccumSteps: withDefault(
    Type.Integer({ minimum: 1, description: 'micro-batches per optimizer update' }),
    TRAIN_DEFAULTS.gradAccumSteps,
  ),
  maxGradNorm: withDefault(
    Type.Number({ minimum: 0, description: 'global gradient-norm clipping (0 = off)' }),
    TRAIN_DEFAULTS.maxGradNorm,
  ),
  weightDecay: withDefault(
    Type.Number({ minimum: 0, description: 'AdamW decoupled weight decay (not applied to 1-D parameters)' }),
    TRAIN_DEFAULTS.weightDecay,
  ),
  seed: withDefault(Type.Integer({ minimum: 0, description: 'data-order seed' }), TRAIN_DEFAULTS.seed),
  checkpointEvery: withDefault(
    Type.Integer({
      minimum: 0,
      description:
        'save a resumable checkpoint every N updates (0 = never); a retry resumes from the latest, losing at most ' +
        'N updates',
    }),
    10,
  ),
  keepCheckpoints: withDefault(
    Type.Integer({ minimum: 1, description: 'checkpoints kept per step (older ones are pruned)' }),
    2,
  ),
  pauseMs: withDefault(
    Type.Integer({ minimum: 0, description: 'sleep after each update (demos and crash tests; 0 in production)' }),
    0,
  ),
};

/**
 * Every training kind's arguments but its data and model: the learning rate and batch size
 * (whose defaults differ by kind), the sequence length (`sequence` says what one holds) and
 * the loop's (steps/training.ts reads them).
 */
export const trainingArgs = (o: { learningRate: number; batchSize: number; batchOf: string; sequence: string }) => ({
  learningRate: withDefault(
    Type.Number({ exclusiveMinimum: 0, description: 'peak learning rate (AdamW)' }),
    o.learningRate,
  ),
  batchSize: batchSizeArg(o.batchSize, o.batchOf),
  maxLength: maxLengthArg(o.sequence),
  ...trainingLoopArgs,
});

/** `init`: a fresh seeded model, for kinds that can start from scratch (model.sft, model.reward). */
export const initArg = (description: string, sizes: { values: readonly string[]; description: string }) =>
  Type.Optional(
    Type.Object(
      {
        size: withDefault(StringEnum([...sizes.values], { description: sizes.description }), 'micro'),
        tokenizer: withDefault(
          StringEnum(['byte', 'gpt2'], { description: 'byte-level (258 ids) or GPT-2 BPE' }),
          'byte',
        ),
        seed: withDefault(Type.Integer({ minimum: 0, description: 'weight-init seed' }), 0),
      },
      { additionalProperties: false, description },
    ),
  );

/** Exactly one of `init` and `model`. */
export const INIT_OR_MODEL = [{ required: ['init'] }, { required: ['model'] }];

/** `init.size` presets: every family (model.sft), or GPT-2's alone (model.reward's backbone). */
export const MODEL_SIZES = {
  all: {
    values: ['micro', 'tiny', 'small', 'medium', 'gpt2', 'llama-micro', 'llama-tiny', 'qwen2-micro', 'mistral-micro'],
    description:
      'preset: GPT-2 (micro ~35k parameters … gpt2 124M) or Llama-family (llama-micro ~35k, llama-tiny ~0.8M, ' +
      'qwen2-micro, mistral-micro)',
  },
  gpt2: {
    values: ['micro', 'tiny', 'small', 'medium', 'gpt2'],
    description: 'preset (micro ~35k parameters … gpt2 124M)',
  },
};
