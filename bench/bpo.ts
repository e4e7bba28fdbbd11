// `npm run bench -- bpo [--quick]`: the BPO benchmark. Runs the pipelines in
// pipelines/bench/ (raw DPO, uniform depth, BPO gradient depth, plus ablations)
// over several seeds, the way `bpoflow run` does (preparePlan + submit) against
// a private stack and a real worker, and writes bench-results/bpo.md (the table)
// next to the JSON that bench/run.ts saves.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrivateStack } from '../infra/stack.js';
import { spawnWorker } from '../infra/worker-process.js';
import { connectClient } from '../cli/connect.js';
import { preparePlan, submit } from '../cli/run-commands.js';
import { packageRoot } from '../spec/package-root.js';
import { ArtifactStore } from '../store/artifacts.js';
import type { RunStatus } from '../workflows/pipeline.js';

interface Variant {
  name: string;
  group: 'main' | 'ablation';
  file: string;
  set: string[];
}

const VARIANTS: Variant[] = [
  { name: '1 raw DPO (imbalanced)', group: 'main', file: 'bpo-raw.yaml', set: [] },
  { name: '2 uniform depth', group: 'main', file: 'bpo-uniform.yaml', set: [] },
  { name: '3 BPO (gradient depth)', group: 'main', file: 'bpo-gradient.yaml', set: [] },
  { name: 'ablation: length depth', group: 'ablation', file: 'bpo-length.yaml', set: [] },
  { name: 'ablation: BPO k=2', group: 'ablation', file: 'bpo-gradient.yaml', set: ['k=2'] },
  { name: 'ablation: BPO k=16', group: 'ablation', file: 'bpo-gradient.yaml', set: ['k=16'] },
  { name: 'ablation: BPO d=64', group: 'ablation', file: 'bpo-gradient.yaml', set: ['projectionDim=64'] },
  { name: 'ablation: BPO d=1024', group: 'ablation', file: 'bpo-gradient.yaml', set: ['projectionDim=1024'] },
  { name: 'ablation: BPO no usefulness', group: 'ablation', file: 'bpo-gradient.yaml', set: ['usefulness=false'] },
  { name: 'ablation: BPO, pairs kept by reward gap', group: 'ablation', file: 'bpo-gradient.yaml', set: ['withinPrompt=gap'] },
  { name: 'ablation: BPO depth temperature 1', group: 'ablation', file: 'bpo-gradient.yaml', set: ['depthTemperature=1'] },
  { name: 'ablation: uniform, all prompts kept', group: 'ablation', file: 'bpo-uniform.yaml', set: ['selectFraction=1'] },
  { name: 'ablation: BPO, all prompts kept', group: 'ablation', file: 'bpo-gradient.yaml', set: ['selectFraction=1'] },
];

export interface RunResult {
  variant: string;
  seed: number;
  state: string;
  error?: string;
  meanReward?: number;
  accuracy?: number;
  sftMeanReward?: number;
  preferenceAccuracy?: number;
  tokens?: number;
  pairs?: number;
  wallS: number;
  /** Seconds of the depth-selection step (bpo.balance-uniform / gradient-cluster / balance-length); 0 for raw. */
  selectionS: number;
  /** Seconds of the bpo.train step. */
  dpoS: number;
  runId: string;
}

export interface Summary {
  variant: string;
  n: number;
  failed: number;
  meanReward: [number, number];
  accuracy: [number, number];
  preferenceAccuracy: [number, number];
  tokens: [number, number];
  pairs: [number, number];
  wallS: [number, number];
  selectionS: [number, number];
  dpoS: [number, number];
  sftMeanReward: [number, number];
}

const stat = (xs: number[]): [number, number] => {
  if (xs.length === 0) return [NaN, NaN];
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
  return [m, sd];
};

export function summarize(runs: RunResult[]): Summary[] {
  const names = [...new Set(runs.map((r) => r.variant))];
  return names.map((variant) => {
    const ok = runs.filter((r) => r.variant === variant && r.state === 'succeeded');
    const f = (k: keyof RunResult) => stat(ok.map((r) => Number(r[k])).filter((x) => Number.isFinite(x)));
    return {
      variant,
      n: ok.length,
      failed: runs.filter((r) => r.variant === variant).length - ok.length,
      meanReward: f('meanReward'),
      accuracy: f('accuracy'),
      preferenceAccuracy: f('preferenceAccuracy'),
      tokens: f('tokens'),
      pairs: f('pairs'),
      wallS: f('wallS'),
      selectionS: f('selectionS'),
      dpoS: f('dpoS'),
      sftMeanReward: f('sftMeanReward'),
    };
  });
}

const secs = (s: { state: string; startedAt?: number; endedAt?: number } | undefined): number =>
  s && s.state === 'succeeded' && s.startedAt && s.endedAt ? (s.endedAt - s.startedAt) / 1000 : 0;

const pm = ([m, s]: [number, number], digits = 3) => (Number.isFinite(m) ? `${m.toFixed(digits)} ± ${s.toFixed(digits)}` : 'n/a');

export function markdown(summaries: Summary[], meta: { seeds: number[]; quick: boolean; command: string; minutes: number }): string {
  const rows = summaries.map(
    (s) =>
      `| ${s.variant} | ${s.n}${s.failed ? ` (+${s.failed} failed)` : ''} | ${pm(s.meanReward)} | ${pm(s.accuracy)} | ${pm(s.preferenceAccuracy)} | ${pm(s.pairs, 0)} | ${pm(s.tokens, 0)} | ${pm(s.selectionS, 1)} | ${pm(s.dpoS, 1)} | ${pm(s.wallS, 0)} |`,
  );
  const main = summaries.filter((s) => /^[123] /.test(s.variant)).map((s) => s.meanReward[0]);
  const ordered = main.length === 3 && main[0]! < main[1]! && main[1]! < main[2]!;
  const sft = summaries[0]?.sftMeanReward;
  return [
    `# BPO benchmark (reverse-3 strings, micro GPT-2, wasm CPU)`,
    '',
    `Seeds ${meta.seeds.join(', ')}${meta.quick ? ' (--quick: fewer steps and prompts)' : ''}; ${meta.minutes.toFixed(1)} min in all. Regenerate: \`${meta.command}\`.`,
    '',
    `Held-out: answers sampled at temperature 1 (4 per prompt) on the 48 test prompts (24 with --quick), scored by the \`reverse\` verifier (mean reward = fraction of characters in place; exact = share of samples with reward 1); preference accuracy = eval.preference on held-out (right vs corrupted) pairs. Tokens = tokens processed by bpo.train (same steps and batch in every pipeline). Depth step = seconds of the depth-selection step (uniform / gradient-cluster / length); DPO = seconds of bpo.train. Wall = run start to end: the first run of a seed (raw) includes the SFT step, later runs of the seed reuse it and the select/augment steps from the step cache. The SFT starting point scores ${sft ? pm(sft) : 'n/a'} mean reward.`,
    '',
    '| pipeline | seeds | held-out mean reward | exact accuracy | preference accuracy | pairs trained on | tokens processed | depth step s | DPO s | wall s |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Paper's ordering raw < uniform < BPO on held-out mean reward: **${ordered ? 'holds' : 'does not hold'}** here (${main.map((m) => m.toFixed(3)).join(' / ')}).`,
    '',
  ].join('\n');
}

export async function benchBpo(opts: { quick: boolean; log: (l: string) => void; seeds?: number[] }): Promise<{ runs: RunResult[]; summary: Summary[]; markdown: string }> {
  const t0 = Date.now();
  const seeds = opts.seeds ?? (opts.quick ? [0] : [0, 1, 2]);
  const common = opts.quick ? ['dpoSteps=30', 'evalPrompts=24', 'samples=4'] : [];
  const dir = join(packageRoot(), 'pipelines', 'bench');
  const stack = await startPrivateStack(mkdtempSync(join(tmpdir(), 'bpoflow-bench-bpo-')));
  Object.assign(process.env, stack.env);
  const runs: RunResult[] = [];
  try {
    const worker = await spawnWorker(['--queues', 'cpu,gpu'], process.env);
    try {
      const client = await connectClient();
      const store = ArtifactStore.fromEnv();
      for (const seed of seeds) {
        for (const v of VARIANTS) {
          const plan = await preparePlan(join(dir, v.file), { set: [...common, ...v.set, `seed=${seed}`] }, store);
          const handle = await submit(client, plan);
          let error: string | undefined;
          try {
            await handle.result();
          } catch (e) {
            error = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
          }
          const st = await handle.query<RunStatus>('status');
          const o = st.outputs ?? {};
          const num = (x: unknown) => (typeof x === 'number' ? x : undefined);
          const r: RunResult = {
            variant: v.name,
            seed,
            state: st.state,
            error,
            meanReward: num(o.meanReward),
            accuracy: num(o.accuracy),
            sftMeanReward: num(o.sftMeanReward),
            preferenceAccuracy: num(o.preferenceAccuracy),
            tokens: num(o.tokens),
            pairs: num(o.pairs),
            wallS: ((st.endedAt ?? Date.now()) - st.startedAt) / 1000,
            selectionS: secs(st.steps.find((s) => s.id === 'depth') ?? st.steps.find((s) => s.id === 'uniform')),
            dpoS: secs(st.steps.find((s) => s.id === 'train')),
            runId: st.runId,
          };
          runs.push(r);
          opts.log(`seed ${seed} ${v.name}: ${r.state} reward ${r.meanReward?.toFixed(3)} exact ${r.accuracy?.toFixed(3)} pref ${r.preferenceAccuracy?.toFixed(3)} pairs ${r.pairs} tokens ${r.tokens} wall ${r.wallS.toFixed(0)} s${error ? ` — ${error}` : ''}`);
        }
      }
    } finally {
      await worker.stop();
    }
  } finally {
    await stack.stop();
  }
  const summary = summarize(runs);
  const md = markdown(summary, { seeds, quick: opts.quick, command: `npm run bench -- bpo${opts.quick ? ' --quick' : ''}`, minutes: (Date.now() - t0) / 60000 });
  writeFileSync(join(packageRoot(), 'bench-results', 'bpo.md'), md);
  opts.log(`\n${md}`);
  return { runs, summary, markdown: md };
}
