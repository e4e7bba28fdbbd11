// model.sft@v1: supervised fine-tuning (response-token cross-entropy) from a
// fresh seeded model (`init`) or from a model artifact / channel. Checkpoints
// and resume as bpo.train (see steps/training.ts).
import { encodeSftExample, tokenizerOf, trainSft } from '../../ml/index.js';
import { Type } from '../kind-schema.js';
import { defineKind } from '../step-kind.js';
import {
  batchSizeArg,
  CHANNEL_PINNED,
  dataArg,
  FORMAT_DESCRIPTION,
  formatArg,
  INIT_OR_MODEL,
  initArg,
  learningRateArg,
  maxLengthArg,
  MODEL_SIZES,
  modelArg,
  trainingLoopArgs,
} from '../steps/args.js';
import { loadDataset, toSftExamples } from '../steps/common.js';
import { startingModel } from '../steps/model-io.js';
import {
  finishTraining,
  loopConfig,
  startTraining,
  tokensForSteps,
  totalStepsOf,
  TRAINING_OUTPUTS,
} from '../steps/training.js';

export const modelSft = defineKind({
  kind: 'model.sft',
  version: 'v1',
  description:
    'Supervised fine-tuning (response-token cross-entropy) of a GPT-2 model, from a seeded fresh model or an existing one; ' +
    'checkpointed and resumable bit for bit.',
  queue: 'gpu',
  args: Type.Object(
    {
      data: dataArg('dataset: pairs train prompt→chosen, chat the last assistant turn, multi the best-scored response'),
      format: formatArg(FORMAT_DESCRIPTION),
      init: initArg('start from a fresh model', MODEL_SIZES.all),
      model: Type.Optional(
        modelArg(
          'model bundle artifact (s3://…, config.json + model.safetensors) or channel://<name> ' +
            `(the channel's latest promotion, ${CHANNEL_PINNED})`,
        ),
      ),
      learningRate: learningRateArg(1e-3),
      batchSize: batchSizeArg(4, 'examples (pairs) per micro-batch'),
      maxLength: maxLengthArg('prompt + response + EOS'),
      ...trainingLoopArgs,
    },
    { additionalProperties: false, oneOf: INIT_OR_MODEL },
  ),
  outputs: TRAINING_OUTPUTS,
  async run(ctx, a) {
    const { records } = await loadDataset(ctx, a.data, a.format);
    const examples = toSftExamples(records, a.data);
    const inputs = [a.data];
    const model = await startingModel(ctx.store, a, inputs);
    try {
      const tokenizer = tokenizerOf(model);
      const maxLength = Math.min(a.maxLength ?? model.config.n_positions, model.config.n_positions);
      const totalSteps = totalStepsOf(a, examples.length);
      const lengths = examples.map((e) => encodeSftExample(tokenizer, e, maxLength).ids.length);
      const perStep = a.batchSize * a.gradAccumSteps;
      const { resume, driver } = await startTraining(ctx, a, {
        totalSteps,
        tokensPerStep: tokensForSteps(lengths, a.seed, totalSteps, perStep),
        sequencesPerStep: perStep,
        inputs,
      });
      const config = loopConfig(a, totalSteps, maxLength);
      const result = await trainSft({ model, examples, tokenizer, state: resume?.state, config, ...driver.hooks });
      const training = { kind: 'sft', ...(a.init ? { init: a.init } : {}) };
      return await finishTraining(ctx, driver, result, resume, model, { inputs, training });
    } finally {
      model.dispose();
    }
  },
});
