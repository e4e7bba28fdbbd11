// model.sft@v1: supervised fine-tuning (response-token cross-entropy) from a
// fresh seeded model (`init`) or from a model artifact / channel. Checkpoints
// and resume as bpo.train (see steps/training.ts).
import { encodeSftExample, tokenizerOf, trainSft } from '../../ml/index.js';
import { Type } from '../kind-schema.js';
import { defineKind } from '../step-kind.js';
import {
  CHANNEL_PINNED,
  dataArg,
  FORMAT_DESCRIPTION,
  formatArg,
  INIT_OR_MODEL,
  initArg,
  MODEL_SIZES,
  modelArg,
  trainingArgs,
} from '../steps/args.js';
import { loadDataset, toSftExamples } from '../steps/common.js';
import { startingModel } from '../steps/model-io.js';
import { startTraining, TRAINING_OUTPUTS } from '../steps/training.js';

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
      ...trainingArgs({
        learningRate: 1e-3,
        batchSize: 4,
        batchOf: 'examples (pairs) per micro-batch',
        sequence: 'prompt + response + EOS',
      }),
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
      const tokens = examples.map((e) => encodeSftExample(tokenizer, e, maxLength).ids.length);
      const run = await startTraining(ctx, a, {
        examples: examples.length,
        maxLength,
        tokens,
        sequencesPerExample: 1,
        inputs,
      });
      const { config, hooks, resume } = run;
      const result = await trainSft({ model, examples, tokenizer, state: resume?.state, config, ...hooks });
      return await run.finish(result, model, {
        inputs,
        training: { kind: 'sft', ...(a.init ? { init: a.init } : {}) },
      });
    } finally {
      model.dispose();
    }
  },
});
