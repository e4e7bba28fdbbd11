// eval.reward@v1: pairwise accuracy of a reward model on held-out preference
// pairs: the fraction whose chosen response outscores the rejected one, with
// the mean margin r(chosen) − r(rejected) and the mean scores.
import { pairwiseStats, scoreTexts } from '../../ml/index.js';
import type { DatasetFormat } from '../../store/datasets.js';
import { assertNotCancelled, breathe, loadDataset, num, optNum, producerOf, toPairs } from '../steps/common.js';
import { loadRewardModelArtifact } from '../steps/model-io.js';
import type { StepKind } from '../step-kind.js';

export const evalReward: StepKind = {
  kind: 'eval.reward',
  version: 'v1',
  async run(ctx, a) {
    const data = String(a.data);
    const batchSize = num(a.batchSize, 16);
    const maxLength = optNum(a.maxLength);
    const { records } = await loadDataset(ctx, data, (a.format ?? 'auto') as DatasetFormat | 'auto');
    const pairs = toPairs(records, data);
    const { model, uri } = await loadRewardModelArtifact(ctx.store, String(a.model));
    const chosen: number[] = [];
    const rejected: number[] = [];
    try {
      // Chunks keep heartbeats flowing on large sets; batches inside a chunk are what one call would make.
      const chunk = batchSize * 4;
      for (let i = 0; i < pairs.length; i += chunk) {
        assertNotCancelled(ctx);
        const part = pairs.slice(i, i + chunk);
        const o = { batchSize, ...(maxLength ? { maxLength } : {}) };
        chosen.push(...scoreTexts(model, part.map((p) => ({ prompt: p.prompt, response: p.chosen })), o));
        rejected.push(...scoreTexts(model, part.map((p) => ({ prompt: p.prompt, response: p.rejected })), o));
        ctx.progress({ done: Math.min(pairs.length, i + chunk), total: pairs.length, unit: 'pairs' });
        await breathe(ctx);
      }
    } finally {
      model.dispose();
    }
    const stats = pairwiseStats(chosen, rejected);
    const report = { ...stats, model: uri, data };
    const ref = await ctx.store.putJson(ctx.outputUri('eval.json'), report, { kind: 'metrics', producer: producerOf(ctx), inputs: [data, uri] });
    return { eval: ref.uri, accuracy: stats.accuracy, margin: stats.margin, pairs: stats.pairs };
  },
};
