// eval.preference@v1: held-out preference accuracy of a policy against a
// reference on preference pairs. The implicit DPO reward of a response is
// beta·(log π(y|x) − log π_ref(y|x)); a pair counts as correct when the chosen
// response's reward exceeds the rejected one's. Also reports the policy's raw
// log-prob accuracy (log π(chosen) > log π(rejected)), which needs no reference.
import type { CausalLM } from '../../ml/index.js';
import type { DatasetFormat } from '../../store/datasets.js';
import type { StepContext, StepKind } from '../step-kind.js';
import { chunkedLogProbs, loadDataset, num, optNum, producerOf, toPairs, type PairText } from '../steps/common.js';
import { loadModelArtifact } from '../steps/model-io.js';

export interface PreferenceEval {
  pairs: number;
  beta: number;
  accuracy: number;
  margin: number;
  policyAccuracy: number;
  rewardsChosen: number;
  rewardsRejected: number;
  logpsChosen: number;
  logpsRejected: number;
  model: string;
  reference: string;
}

async function pairLogps(ctx: StepContext, model: CausalLM, pairs: PairText[], maxLength: number | undefined, batchSize: number, label: string) {
  const o = { batchSize, ...(maxLength ? { maxLength } : {}) };
  return {
    chosen: (await chunkedLogProbs(ctx, model, pairs.map((p) => ({ prompt: p.prompt, messages: p.messages, response: p.chosen })), { ...o, label: `${label} (chosen)` })).sum,
    rejected: (await chunkedLogProbs(ctx, model, pairs.map((p) => ({ prompt: p.prompt, messages: p.messages, response: p.rejected })), { ...o, label: `${label} (rejected)` })).sum,
  };
}

export const evalPreference: StepKind = {
  kind: 'eval.preference',
  version: 'v1',
  async run(ctx, a) {
    const data = String(a.data);
    const beta = num(a.beta, 0.1);
    const batchSize = num(a.batchSize, 8);
    const maxLength = optNum(a.maxLength);
    const { records } = await loadDataset(ctx, data, (a.format ?? 'auto') as DatasetFormat | 'auto');
    const pairs = toPairs(records, data);
    const policy = await loadModelArtifact(ctx.store, String(a.model));
    let pol;
    try {
      pol = await pairLogps(ctx, policy.model, pairs, maxLength, batchSize, 'policy log-probs');
    } finally {
      policy.model.dispose();
    }
    const reference = await loadModelArtifact(ctx.store, String(a.reference));
    let ref;
    try {
      ref = await pairLogps(ctx, reference.model, pairs, maxLength, batchSize, 'reference log-probs');
    } finally {
      reference.model.dispose();
    }
    const n = pairs.length;
    let acc = 0, margin = 0, polAcc = 0, rc = 0, rr = 0, lc = 0, lr = 0;
    for (let i = 0; i < n; i++) {
      const c = beta * (pol.chosen[i]! - ref.chosen[i]!);
      const r = beta * (pol.rejected[i]! - ref.rejected[i]!);
      acc += c > r ? 1 : 0;
      margin += c - r;
      polAcc += pol.chosen[i]! > pol.rejected[i]! ? 1 : 0;
      rc += c;
      rr += r;
      lc += pol.chosen[i]!;
      lr += pol.rejected[i]!;
    }
    const report: PreferenceEval = {
      pairs: n,
      beta,
      accuracy: acc / n,
      margin: margin / n,
      policyAccuracy: polAcc / n,
      rewardsChosen: rc / n,
      rewardsRejected: rr / n,
      logpsChosen: lc / n,
      logpsRejected: lr / n,
      model: policy.uri,
      reference: reference.uri,
    };
    const ref2 = await ctx.store.putJson(ctx.outputUri('eval.json'), report, {
      kind: 'metrics',
      producer: producerOf(ctx),
      inputs: [data, policy.uri, reference.uri],
    });
    return { eval: ref2.uri, accuracy: report.accuracy, margin: report.margin, policyAccuracy: report.policyAccuracy, pairs: n };
  },
};
