// eval.preference@v1: held-out preference accuracy of a policy against a
// reference on preference pairs. The implicit DPO reward of a response is
// beta·(log π(y|x) − log π_ref(y|x)); a pair counts as correct when the chosen
// response's reward exceeds the rejected one's. Also reports the policy's raw
// log-prob accuracy (log π(chosen) > log π(rejected)), which needs no reference.
import type { CausalLM } from '../../ml/index.js';
import { DPO_DEFAULTS } from '../../ml/index.js';
import { Type, withDefault } from '../kind-schema.js';
import { defineKind, type StepContext } from '../step-kind.js';
import { batchSizeArg, dataArg, maxLengthArg, modelArg, preferenceFormatArg } from '../steps/args.js';
import { chunkedLogProbs, loadDataset, toPairs, writeEvalReport, type PairText } from '../steps/common.js';
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

async function pairLogps(
  ctx: StepContext,
  model: CausalLM,
  pairs: PairText[],
  maxLength: number | undefined,
  batchSize: number,
  label: string,
) {
  const o = { batchSize, ...(maxLength ? { maxLength } : {}) };
  const side = async (which: 'chosen' | 'rejected') => {
    const items = pairs.map((p) => ({ prompt: p.prompt, messages: p.messages, response: p[which] }));
    return (await chunkedLogProbs(ctx, model, items, { ...o, label: `${label} (${which})` })).sum;
  };
  return { chosen: await side('chosen'), rejected: await side('rejected') };
}

export const evalPreference = defineKind({
  kind: 'eval.preference',
  version: 'v1',
  description:
    'Held-out preference accuracy and mean reward margin of a policy vs a reference: ' +
    'reward = beta·(log π − log π_ref) of each response.',
  queue: 'gpu',
  args: Type.Object(
    {
      data: dataArg('held-out preference pairs (JSONL)'),
      format: preferenceFormatArg(),
      model: modelArg('policy: s3:// model bundle or channel://<name>'),
      reference: modelArg("reference model (usually the policy's starting point)"),
      beta: withDefault(
        Type.Number({ exclusiveMinimum: 0, description: 'β used to scale rewards (margin is in reward units)' }),
        DPO_DEFAULTS.beta,
      ),
      batchSize: batchSizeArg(8, 'sequences per forward pass'),
      maxLength: maxLengthArg(),
    },
    { additionalProperties: false },
  ),
  outputs: {
    eval: { type: 'artifact', description: 'JSON: accuracy, margin, policyAccuracy, rewards and log-probs means' },
    accuracy: {
      type: 'number',
      description: 'fraction of pairs whose chosen reward beats the rejected one',
      report: 'metric',
    },
    margin: { type: 'number', description: 'mean reward margin (chosen − rejected)', report: 'metric' },
    policyAccuracy: {
      type: 'number',
      description: 'fraction with log π(chosen) > log π(rejected)',
      report: 'metric',
    },
    pairs: { type: 'number', description: 'pairs evaluated', report: 'metric' },
  },
  async run(ctx, a) {
    const { data, beta, batchSize, maxLength } = a;
    const { records } = await loadDataset(ctx, data, a.format);
    const pairs = toPairs(records, data);
    const policy = await loadModelArtifact(ctx.store, a.model);
    let pol;
    try {
      pol = await pairLogps(ctx, policy.model, pairs, maxLength, batchSize, 'policy log-probs');
    } finally {
      policy.model.dispose();
    }
    const reference = await loadModelArtifact(ctx.store, a.reference);
    let ref;
    try {
      ref = await pairLogps(ctx, reference.model, pairs, maxLength, batchSize, 'reference log-probs');
    } finally {
      reference.model.dispose();
    }
    const n = pairs.length;
    let acc = 0,
      margin = 0,
      polAcc = 0,
      rc = 0,
      rr = 0,
      lc = 0,
      lr = 0;
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
    return {
      eval: await writeEvalReport(ctx, report, [data, policy.uri, reference.uri]),
      accuracy: report.accuracy,
      margin: report.margin,
      policyAccuracy: report.policyAccuracy,
      pairs: n,
    };
  },
});
