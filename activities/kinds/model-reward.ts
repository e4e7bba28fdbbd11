// model.reward@v1: trains a Bradley–Terry reward model (backbone + scalar head,
// loss −log σ(r_chosen − r_rejected)) on preference pairs. The backbone is a
// model artifact (usually the SFT model) or a fresh seeded one; the output is a
// GPT2ForSequenceClassification bundle. Checkpoints, resume and metrics as
// model.sft (training.ts).
import { encodeForReward, getTokenizer, RewardModel, trainReward, type CausalLM, type ScheduleType, type TokenizerName } from '../../ml/index.js';
import type { DatasetFormat } from '../../store/datasets.js';
import { BadInput, type StepKind } from '../step-kind.js';
import { loadDataset, num, optNum, toPairs } from '../steps/common.js';
import { initModel, loadModelArtifact } from '../steps/model-io.js';
import { findResume, finishTraining, tokensForSteps, trainingDriver } from '../steps/training.js';

export const modelReward: StepKind = {
  kind: 'model.reward',
  version: 'v1',
  async run(ctx, a) {
    const data = String(a.data);
    const init = a.init as { size?: string; tokenizer?: TokenizerName; seed?: number } | undefined;
    if ((init === undefined) === (a.model === undefined)) throw new BadInput('model.reward needs exactly one of "init" and "model" (the backbone)');
    const { records } = await loadDataset(ctx, data, (a.format ?? 'auto') as DatasetFormat | 'auto');
    const pairs = toPairs(records, data);
    const inputs = [data];
    let backbone: CausalLM;
    if (init) backbone = initModel(init);
    else {
      const loaded = await loadModelArtifact(ctx.store, String(a.model));
      backbone = loaded.model;
      inputs.push(loaded.uri);
    }
    const seed = num(a.seed, 0);
    const model = RewardModel.withNewHead(backbone, num(a.headSeed, seed));
    try {
      const tok = getTokenizer(model.tokenizerName);
      const maxLength = Math.min(optNum(a.maxLength) ?? model.maxPositions, model.maxPositions);
      const batchSize = num(a.batchSize, 8);
      const gradAccumSteps = num(a.gradAccumSteps, 1);
      const totalSteps = optNum(a.maxSteps) ?? Math.ceil((num(a.epochs, 1) * pairs.length) / (batchSize * gradAccumSteps));
      // A pair is two sequences through the model.
      const lengths = pairs.map((p) => encodeForReward(tok, p.prompt, p.chosen, maxLength).ids.length + encodeForReward(tok, p.prompt, p.rejected, maxLength).ids.length);
      const resume = await findResume(ctx, a);
      if (resume) ctx.log.info('resuming from checkpoint', { fromStep: resume.step, uri: resume.uri, attempt: ctx.attempt, ...(resume.fromRun ? { fromRun: resume.fromRun } : {}) });
      const driver = trainingDriver(ctx, {
        totalSteps,
        tokensPerStep: tokensForSteps(lengths, seed, totalSteps, batchSize * gradAccumSteps),
        sequencesPerStep: 2 * batchSize * gradAccumSteps,
        checkpointEvery: num(a.checkpointEvery, 10),
        keepCheckpoints: num(a.keepCheckpoints, 2),
        resume,
        pauseMs: num(a.pauseMs, 0),
        inputs,
        args: a,
      });
      ctx.progress({ done: resume?.step ?? 0, total: totalSteps, unit: 'steps' });
      const result = await trainReward({
        model,
        pairs,
        tokenizer: tok,
        state: resume?.state,
        config: {
          seed,
          learningRate: num(a.learningRate, 1e-4),
          weightDecay: num(a.weightDecay, 0),
          warmupSteps: num(a.warmupSteps, 0),
          lrSchedule: (a.schedule ?? 'linear') as ScheduleType,
          maxSteps: totalSteps,
          batchSize,
          gradAccumSteps,
          maxGradNorm: num(a.maxGradNorm, 1),
          maxLength,
        },
        ...driver.hooks,
      });
      const accuracy = result.lastMetrics?.accuracy ?? null;
      const out = await finishTraining(ctx, driver, result, resume, model, {
        inputs,
        training: { kind: 'reward', architecture: 'GPT2ForSequenceClassification', pairs: pairs.length, ...(init ? { init } : {}) },
      });
      return { ...out, accuracy };
    } finally {
      model.dispose();
    }
  },
};
