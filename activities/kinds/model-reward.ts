// model.reward@v1: trains a Bradley–Terry reward model (backbone + scalar head,
// loss −log σ(r_chosen − r_rejected)) on preference pairs. The backbone is a
// model artifact (usually the SFT model) or a fresh seeded one; the output is a
// GPT2ForSequenceClassification bundle. Checkpoints, resume and metrics as
// model.sft (steps/training.ts).
import { encodeForReward, getTokenizer, RewardModel, trainReward } from '../../ml/index.js';
import { Type } from '../kind-schema.js';
import { defineKind } from '../step-kind.js';
import { dataArg, formatArg, INIT_OR_MODEL, initArg, MODEL_SIZES, modelArg, trainingArgs } from '../steps/args.js';
import { loadDataset, toPairs } from '../steps/common.js';
import { startingModel } from '../steps/model-io.js';
import { startTraining, TRAINING_OUTPUTS } from '../steps/training.js';

export const modelReward = defineKind({
  kind: 'model.reward',
  version: 'v1',
  description:
    'Trains a Bradley–Terry reward model (backbone + scalar head, loss −log σ(r_chosen − r_rejected)) on preference ' +
    "pairs; the output is a GPT2ForSequenceClassification bundle (num_labels 1) for bpo.augment's reward: " +
    '{type: reward-model}, eval.reward and eval.generate. Checkpointed and resumable bit for bit.',
  queue: 'gpu',
  args: Type.Object(
    {
      data: dataArg(
        'preference pairs (TRL {prompt, chosen, rejected}, HH transcripts, or multi-response rows: best vs worst ' +
          'scored)',
      ),
      format: formatArg(
        'auto: detected from the first row; pairs: TRL; multi: {prompt, responses:[{text, score}]}; hh: HH-RLHF ' +
          'transcripts',
        ['auto', 'pairs', 'multi', 'hh'],
      ),
      init: initArg('backbone: a fresh seeded model', MODEL_SIZES.gpt2),
      model: Type.Optional(
        modelArg(
          'backbone: a language-model bundle (usually the SFT model; s3://… or channel://<name>); its LM head is ' +
            'dropped',
        ),
      ),
      ...trainingArgs({
        learningRate: 1e-4,
        batchSize: 8,
        batchOf: 'pairs per micro-batch (each pair is two sequences)',
        sequence: 'prompt + response',
      }),
      headSeed: Type.Optional(
        Type.Integer({ minimum: 0, description: "seed of the score head's N(0, 0.02) init (default: seed)" }),
      ),
    },
    { additionalProperties: false, oneOf: INIT_OR_MODEL },
  ),
  outputs: {
    ...TRAINING_OUTPUTS,
    model: {
      type: 'artifact',
      description:
        'reward model bundle: config.json (GPT2ForSequenceClassification, num_labels 1, pad_token_id) ' +
        '+ model.safetensors (transformer.* + score.weight)',
    },
    metrics: {
      type: 'artifact',
      description:
        'metrics.jsonl: one row per update (loss, accuracy, margin, rewards/chosen, rewards/rejected, grad_norm, ' +
        'learning_rate, tokens)',
    },
    loss: { type: 'number', description: 'Bradley–Terry loss of the last update' },
    accuracy: { type: 'number', description: "training pairwise accuracy of the last update's batch" },
  },
  async run(ctx, a) {
    const { records } = await loadDataset(ctx, a.data, a.format);
    const pairs = toPairs(records, a.data);
    const inputs = [a.data];
    const backbone = await startingModel(ctx.store, a, inputs);
    const model = RewardModel.withNewHead(backbone, a.headSeed ?? a.seed);
    try {
      const tokenizer = getTokenizer(model.tokenizerName);
      const maxLength = Math.min(a.maxLength ?? model.maxPositions, model.maxPositions);
      // A pair is two sequences through the model.
      const length = (prompt: string, response: string) =>
        encodeForReward(tokenizer, prompt, response, maxLength).ids.length;
      const tokens = pairs.map((p) => length(p.prompt, p.chosen) + length(p.prompt, p.rejected));
      const run = await startTraining(ctx, a, {
        examples: pairs.length,
        maxLength,
        tokens,
        sequencesPerExample: 2,
        inputs,
      });
      const { config, hooks, resume } = run;
      const result = await trainReward({ model, pairs, tokenizer, state: resume?.state, config, ...hooks });
      const accuracy = result.lastMetrics?.accuracy ?? null;
      const training = {
        kind: 'reward',
        architecture: 'GPT2ForSequenceClassification',
        pairs: pairs.length,
        ...(a.init ? { init: a.init } : {}),
      };
      const out = await run.finish(result, model, { inputs, training });
      return { ...out, accuracy };
    } finally {
      model.dispose();
    }
  },
});
