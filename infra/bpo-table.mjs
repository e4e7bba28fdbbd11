#!/usr/bin/env node
// Prints the result table of a pipelines/examples/bpo.yaml run from its status
// JSON on stdin (`bpoflow status RUN --json | node infra/bpo-table.mjs`):
// the BPO policy against its SFT start on the held-out split, the reward
// model's own held-out accuracy, and the time each step took.
import { readFileSync } from 'node:fs';

const status = JSON.parse(readFileSync(0, 'utf8'));
const o = status.outputs ?? {};
const f = (v, d = 3) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '—');
const row = (cells, widths) =>
  cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
const w = [36, 10, 12];

const lines = [
  `BPO result, run ${status.runId} (${status.state}): ${o.testPrompts ?? '?'} held-out prompts, scored by the trained reward model`,
  '',
  row(['', 'SFT', 'BPO policy'], w),
  row(['held-out reward (reward model)', f(o.sftHeldOutReward), f(o.heldOutReward)], w),
  row(['win rate vs SFT (ties ½)', '0.500', f(o.winRate)], w),
  row(['preference accuracy (implicit reward)', '—', f(o.preferenceAccuracy)], w),
  row(['KL(policy ‖ SFT) per token', '0', f(o.kl, 4)], w),
  '',
  `reward model: held-out pairwise accuracy ${f(o.rewardModelAccuracy)} on ${o.rewardModelPairs ?? '?'} pairs` +
    ` · pairs: ${o.importedRows ?? '?'} imported (${o.skippedRows ?? '?'} rows skipped), ${o.trainPairs ?? '?'} train, ${o.augmentedPairs ?? '?'} augmented, ${o.bpoPairs ?? '?'} kept by BPO`,
  '',
  'step times: ' +
    (status.steps ?? [])
      .map(
        (s) =>
          `${s.id} ${s.state === 'cached' ? 'cached' : s.startedAt && s.endedAt ? `${((s.endedAt - s.startedAt) / 1000).toFixed(1)}s` : s.state}`,
      )
      .join(', '),
];
process.stdout.write(lines.join('\n') + '\n');
