// bpo.train@v1: DPO (sigmoid / IPO / hinge / robust) from a policy model on a
// preference-pair dataset. The reference is the initial policy; its log-probs
// are computed only for the pairs training reads (maxSteps × batch, in the
// loop's epoch order) and cached by model and data (steps/ref-logps.ts), so a retry
// or a rerun reuses them.
// Checkpoints every `checkpointEvery` steps; a retry resumes from the latest,
// so the final model is byte-identical to an uninterrupted run's.
import { DPO_DEFAULTS, encodeItem, firstUses, tokenizerOf, trainDpo, trainingIndices } from '../../ml/index.js';
import { StringEnum, Type, withDefault } from '../kind-schema.js';
import { BadInput, defineKind } from '../step-kind.js';
import { CHANNEL_PINNED, dataArg, modelArg, preferenceFormatArg, trainingArgs } from '../steps/args.js';
import { loadDataset, toPairs } from '../steps/common.js';
import { loadModelArtifact } from '../steps/model-io.js';
import { referenceLogps } from '../steps/ref-logps.js';
import { startTraining, totalStepsOf, TRAINING_OUTPUTS } from '../steps/training.js';

export const bpoTrain = defineKind({
  kind: 'bpo.train',
  version: 'v1',
  description:
    'Preference optimization (DPO and its IPO/hinge/robust variants, TRL semantics) of a policy against itself ' +
    'as the frozen reference, on preference pairs; checkpointed and resumable bit for bit.',
  queue: 'gpu',
  args: Type.Object(
    {
      data: dataArg('preference pairs (JSONL)'),
      format: preferenceFormatArg(),
      model: modelArg(
        `initial policy (also the reference): s3:// model bundle or channel://<name> (${CHANNEL_PINNED})`,
      ),
      loss: withDefault(
        StringEnum(['sigmoid', 'ipo', 'hinge', 'robust'], { description: 'DPO loss variant (TRL loss_type)' }),
        DPO_DEFAULTS.lossType,
      ),
      beta: withDefault(Type.Number({ exclusiveMinimum: 0, description: 'KL strength β' }), DPO_DEFAULTS.beta),
      labelSmoothing: withDefault(
        Type.Number({ minimum: 0, maximum: 0.5, description: 'conservative-DPO / robust label noise ε' }),
        DPO_DEFAULTS.labelSmoothing,
      ),
      ...trainingArgs({
        learningRate: 1e-4,
        batchSize: 4,
        batchOf: 'examples (pairs) per micro-batch',
        sequence: 'prompt + response + EOS',
      }),
    },
    { additionalProperties: false },
  ),
  outputs: {
    ...TRAINING_OUTPUTS,
    model: { type: 'artifact', description: 'trained policy bundle' },
    refLogps: {
      type: 'artifact',
      description:
        'reference log-probs (JSON) of the pairs training reads, cached by reference model and data: ' +
        'a retry or a rerun with the same reference and data reuses them',
    },
    refPairsComputed: {
      type: 'number',
      description:
        'pairs whose reference log-probs this attempt computed (two sequences each); 0 when all came from the cache',
    },
    refPairsReused: { type: 'number', description: 'pairs whose reference log-probs came from the cache' },
  },
  async run(ctx, a) {
    if (a.loss === 'hinge' && a.labelSmoothing !== 0)
      throw new BadInput('labelSmoothing applies to the sigmoid loss only');
    const { records } = await loadDataset(ctx, a.data, a.format);
    const pairs = toPairs(records, a.data);
    const { model: policy, uri: modelUri } = await loadModelArtifact(ctx.store, a.model);
    try {
      const tok = tokenizerOf(policy);
      const maxLength = Math.min(a.maxLength ?? policy.config.n_positions, policy.config.n_positions);
      const inputs = [a.data, modelUri];

      const perStep = a.batchSize * a.gradAccumSteps;
      const totalSteps = totalStepsOf(a, pairs.length);
      // Only what training reads: reference log-probs and token counts for those pairs.
      const needed = firstUses(trainingIndices(pairs.length, a.seed, totalSteps, perStep));
      const refArgs = { model: policy, modelUri, dataUri: a.data, format: a.format, pairs, needed, maxLength };
      const ref = await referenceLogps(ctx, refArgs);
      const counted = new Map<number, number>();
      const pairTokens = (i: number) => {
        let n = counted.get(i);
        if (n === undefined) {
          const pair = pairs[i]!;
          n =
            encodeItem(tok, pair, pair.chosen, maxLength).ids.length +
            encodeItem(tok, pair, pair.rejected, maxLength).ids.length;
          counted.set(i, n);
        }
        return n;
      };
      const run = await startTraining(ctx, a, {
        examples: pairs.length,
        totalSteps,
        maxLength,
        tokens: pairTokens,
        sequencesPerExample: 2,
        inputs,
      });
      const result = await trainDpo({
        policy,
        pairs,
        refLogps: ref.refLogps,
        tokenizer: tok,
        state: run.resume?.state,
        config: { ...run.config, beta: a.beta, lossType: a.loss, labelSmoothing: a.labelSmoothing },
        ...run.hooks,
      });
      const outputs = await run.finish(result, policy, {
        inputs: [...inputs, ref.uri],
        training: { kind: 'dpo', loss: a.loss, beta: a.beta },
      });
      return { ...outputs, refLogps: ref.uri, refPairsComputed: ref.computedPairs, refPairsReused: ref.reusedPairs };
    } finally {
      policy.dispose();
    }
  },
});
