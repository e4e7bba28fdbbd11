// eval.reward@v1: pairwise accuracy of a reward model on held-out preference
// pairs: the fraction whose chosen response outscores the rejected one, with
// the mean margin r(chosen) − r(rejected) and the mean scores.
import { pairwiseStats, scoreTexts } from '../../ml/index.js';
import { Type } from '../kind-schema.js';
import { defineKind } from '../step-kind.js';
import { batchSizeArg, dataArg, maxLengthArg, modelArg, preferenceFormatArg } from '../steps/args.js';
import { assertNotCancelled, breathe, loadDataset, toPairs, writeEvalReport } from '../steps/common.js';
import { loadRewardModelArtifact } from '../steps/model-io.js';

export const evalReward = defineKind({
  kind: 'eval.reward',
  version: 'v1',
  description:
    'Pairwise accuracy of a reward model on held-out preference pairs: the fraction whose chosen response ' +
    'outscores the rejected one, and the mean margin.',
  queue: 'gpu',
  args: Type.Object(
    {
      data: dataArg('held-out preference pairs (JSONL)'),
      format: preferenceFormatArg(),
      model: modelArg('reward model bundle (the output of model.reward@v1, or a GPT2ForSequenceClassification folder)'),
      batchSize: batchSizeArg(16, 'sequences per forward pass'),
      maxLength: maxLengthArg(),
    },
    { additionalProperties: false },
  ),
  outputs: {
    eval: { type: 'artifact', description: 'JSON: pairs, accuracy, margin, ties, meanChosen, meanRejected' },
    accuracy: { type: 'number', description: 'fraction of pairs with r(chosen) > r(rejected)', report: 'metric' },
    margin: { type: 'number', description: 'mean r(chosen) − r(rejected)', report: 'metric' },
    pairs: { type: 'number', description: 'pairs evaluated', report: 'metric' },
  },
  async run(ctx, a) {
    const { data, batchSize, maxLength } = a;
    const { records } = await loadDataset(ctx, data, a.format);
    const pairs = toPairs(records, data);
    const { model, uri } = await loadRewardModelArtifact(ctx.store, a.model);
    const chosen: number[] = [];
    const rejected: number[] = [];
    try {
      // Chunks keep heartbeats flowing on large sets; batches inside a chunk are what one call would make.
      const chunk = batchSize * 4;
      for (let i = 0; i < pairs.length; i += chunk) {
        assertNotCancelled(ctx);
        const part = pairs.slice(i, i + chunk);
        const o = { batchSize, ...(maxLength ? { maxLength } : {}) };
        chosen.push(
          ...scoreTexts(
            model,
            part.map((p) => ({ prompt: p.prompt, response: p.chosen })),
            o,
          ),
        );
        rejected.push(
          ...scoreTexts(
            model,
            part.map((p) => ({ prompt: p.prompt, response: p.rejected })),
            o,
          ),
        );
        ctx.progress({ done: Math.min(pairs.length, i + chunk), total: pairs.length, unit: 'pairs' });
        await breathe(ctx);
      }
    } finally {
      model.dispose();
    }
    const stats = pairwiseStats(chosen, rejected);
    const report = { ...stats, model: uri, data };
    const evalUri = await writeEvalReport(ctx, report, [data, uri]);
    return { eval: evalUri, accuracy: stats.accuracy, margin: stats.margin, pairs: stats.pairs };
  },
});
