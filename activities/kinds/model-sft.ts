// model.sft@v1: supervised fine-tuning (response-token cross-entropy) from a
// fresh seeded model (`init`) or from a model artifact / channel. Checkpoints
// and resume as bpo.train (see training.ts).
import { encodeSftExample, tokenizerOf, trainSft, type CausalLM, type ScheduleType, type TokenizerName } from '../../ml/index.js';
import type { DatasetFormat } from '../../store/datasets.js';
import { BadInput, type StepKind } from '../step-kind.js';
import { loadDataset, num, optNum, toSftExamples } from '../steps/common.js';
import { initModel, loadModelArtifact } from '../steps/model-io.js';
import { findResume, finishTraining, tokensForSteps, trainingDriver } from '../steps/training.js';

export const modelSft: StepKind = {
  kind: 'model.sft',
  version: 'v1',
  async run(ctx, a) {
    const data = String(a.data);
    const format = (a.format ?? 'auto') as DatasetFormat | 'auto';
    const init = a.init as { size?: string; tokenizer?: TokenizerName; seed?: number } | undefined;
    if ((init === undefined) === (a.model === undefined)) throw new BadInput('model.sft needs exactly one of "init" and "model"');
    const { records } = await loadDataset(ctx, data, format);
    const examples = toSftExamples(records, data);
    let model: CausalLM;
    const inputs = [data];
    if (init) model = initModel(init);
    else {
      const loaded = await loadModelArtifact(ctx.store, String(a.model));
      model = loaded.model;
      inputs.push(loaded.uri);
    }
    try {
      const tok = tokenizerOf(model);
      const maxLength = Math.min(optNum(a.maxLength) ?? model.config.n_positions, model.config.n_positions);
      const batchSize = num(a.batchSize, 4);
      const gradAccumSteps = num(a.gradAccumSteps, 1);
      const seed = num(a.seed, 0);
      const totalSteps = optNum(a.maxSteps) ?? Math.ceil((num(a.epochs, 1) * examples.length) / (batchSize * gradAccumSteps));
      const lengths = examples.map((e) => encodeSftExample(tok, e, maxLength).ids.length);
      const resume = await findResume(ctx, a);
      if (resume) ctx.log.info('resuming from checkpoint', { fromStep: resume.step, uri: resume.uri, attempt: ctx.attempt, ...(resume.fromRun ? { fromRun: resume.fromRun } : {}) });
      const driver = trainingDriver(ctx, {
        totalSteps,
        tokensPerStep: tokensForSteps(lengths, seed, totalSteps, batchSize * gradAccumSteps),
        sequencesPerStep: batchSize * gradAccumSteps,
        checkpointEvery: num(a.checkpointEvery, 10),
        keepCheckpoints: num(a.keepCheckpoints, 2),
        resume,
        pauseMs: num(a.pauseMs, 0),
        inputs,
        args: a,
      });
      ctx.progress({ done: resume?.step ?? 0, total: totalSteps, unit: 'steps' });
      const result = await trainSft({
        model,
        examples,
        tokenizer: tok,
        state: resume?.state,
        config: {
          seed,
          learningRate: num(a.learningRate, 1e-3),
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
      return await finishTraining(ctx, driver, result, resume, model, { inputs, training: { kind: 'sft', ...(init ? { init } : {}) } });
    } finally {
      model.dispose();
    }
  },
};
