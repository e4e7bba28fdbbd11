// bpo.train@v1: DPO (sigmoid / IPO / hinge / robust) from a policy model on a
// preference-pair dataset. The reference is the initial policy; its log-probs
// are computed only for the pairs training reads (maxSteps × batch, in the
// loop's epoch order) and cached by model and data (ref-logps.ts), so a retry
// or a rerun reuses them.
// Checkpoints every `checkpointEvery` steps; a retry resumes from the latest,
// so the final model is byte-identical to an uninterrupted run's.
import { encodeItem, firstUses, tokenizerOf, trainDpo, trainingIndices, type DpoLossType, type ScheduleType } from '../../ml/index.js';
import type { StepKind } from '../step-kind.js';
import { BadInput } from '../step-kind.js';
import { loadDataset, num, optNum, toPairs } from '../steps/common.js';
import { referenceLogps } from '../steps/ref-logps.js';
import { loadModelArtifact } from '../steps/model-io.js';
import { findResume, finishTraining, tokensForSteps, trainingDriver } from '../steps/training.js';
import type { DatasetFormat } from '../../store/datasets.js';

export interface BpoTrainArgs {
  data: string;
  format: DatasetFormat | 'auto';
  model: string;
  loss: DpoLossType;
  beta: number;
  labelSmoothing: number;
  learningRate: number;
  warmupSteps: number;
  schedule: ScheduleType;
  epochs: number;
  maxSteps?: number;
  batchSize: number;
  gradAccumSteps: number;
  maxGradNorm: number;
  weightDecay: number;
  maxLength?: number;
  seed: number;
  checkpointEvery: number;
  keepCheckpoints: number;
  pauseMs: number;
}

export function bpoArgs(a: Record<string, unknown>): BpoTrainArgs {
  return {
    data: String(a.data),
    format: (a.format ?? 'auto') as BpoTrainArgs['format'],
    model: String(a.model),
    loss: (a.loss ?? 'sigmoid') as DpoLossType,
    beta: num(a.beta, 0.1),
    labelSmoothing: num(a.labelSmoothing, 0),
    learningRate: num(a.learningRate, 1e-4),
    warmupSteps: num(a.warmupSteps, 0),
    schedule: (a.schedule ?? 'linear') as ScheduleType,
    epochs: num(a.epochs, 1),
    maxSteps: optNum(a.maxSteps),
    batchSize: num(a.batchSize, 4),
    gradAccumSteps: num(a.gradAccumSteps, 1),
    maxGradNorm: num(a.maxGradNorm, 1),
    weightDecay: num(a.weightDecay, 0),
    maxLength: optNum(a.maxLength),
    seed: num(a.seed, 0),
    checkpointEvery: num(a.checkpointEvery, 10),
    keepCheckpoints: num(a.keepCheckpoints, 2),
    pauseMs: num(a.pauseMs, 0),
  };
}

export const bpoTrain: StepKind = {
  kind: 'bpo.train',
  version: 'v1',
  async run(ctx, rawArgs) {
    const args = bpoArgs(rawArgs);
    if (args.loss === 'hinge' && args.labelSmoothing !== 0) throw new BadInput('labelSmoothing applies to the sigmoid loss only');
    const { records } = await loadDataset(ctx, args.data, args.format);
    const pairs = toPairs(records, args.data);
    const { model: policy, uri: modelUri } = await loadModelArtifact(ctx.store, args.model);
    try {
      const tok = tokenizerOf(policy);
      const maxLength = Math.min(args.maxLength ?? policy.config.n_positions, policy.config.n_positions);
      const inputs = [args.data, modelUri];

      const perStep = args.batchSize * args.gradAccumSteps;
      const totalSteps = args.maxSteps ?? Math.ceil((args.epochs * pairs.length) / perStep);
      // Only what training reads: reference log-probs and token counts for those pairs.
      const needed = firstUses(trainingIndices(pairs.length, args.seed, totalSteps, perStep));
      const ref = await referenceLogps(ctx, { model: policy, modelUri, dataUri: args.data, format: args.format, pairs, needed, maxLength });
      const refLogps = ref.refLogps;
      const counted = new Map<number, number>();
      const pairTokens = (i: number) => {
        let n = counted.get(i);
        if (n === undefined) counted.set(i, (n = encodeItem(tok, pairs[i]!, pairs[i]!.chosen, maxLength).ids.length + encodeItem(tok, pairs[i]!, pairs[i]!.rejected, maxLength).ids.length));
        return n;
      };
      const tokensPerStep = tokensForSteps(pairTokens, args.seed, totalSteps, perStep, pairs.length);

      const resume = await findResume(ctx, rawArgs);
      if (resume) ctx.log.info('resuming from checkpoint', { fromStep: resume.step, uri: resume.uri, attempt: ctx.attempt, ...(resume.fromRun ? { fromRun: resume.fromRun } : {}) });
      const driver = trainingDriver(ctx, {
        totalSteps,
        tokensPerStep,
        sequencesPerStep: 2 * perStep,
        checkpointEvery: args.checkpointEvery,
        keepCheckpoints: args.keepCheckpoints,
        resume,
        pauseMs: args.pauseMs,
        inputs,
        args: rawArgs,
      });
      ctx.progress({ done: resume?.step ?? 0, total: totalSteps, unit: 'steps', message: resume ? `resumed at step ${resume.step}` : 'training' });
      const result = await trainDpo({
        policy,
        pairs,
        refLogps,
        tokenizer: tok,
        state: resume?.state,
        config: {
          seed: args.seed,
          learningRate: args.learningRate,
          weightDecay: args.weightDecay,
          warmupSteps: args.warmupSteps,
          lrSchedule: args.schedule,
          maxSteps: totalSteps,
          batchSize: args.batchSize,
          gradAccumSteps: args.gradAccumSteps,
          maxGradNorm: args.maxGradNorm,
          maxLength,
          beta: args.beta,
          lossType: args.loss,
          labelSmoothing: args.labelSmoothing,
        },
        ...driver.hooks,
      });
      const outputs = await finishTraining(ctx, driver, result, resume, policy, {
        inputs: [...inputs, ref.uri],
        training: { kind: 'dpo', loss: args.loss, beta: args.beta },
      });
      return { ...outputs, refLogps: ref.uri, refPairsComputed: ref.computedPairs, refPairsReused: ref.reusedPairs };
    } finally {
      policy.dispose();
    }
  },
};
