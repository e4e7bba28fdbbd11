// `npm run bench -- bpo-hh --hh=PATH [--quick] [--seeds=0,1,2]`: the HH-RLHF real-data check
// of BPO. Uploads the HH file to a private stack, runs pipelines/bench/hh/bpo-hh.yaml once per
// seed with a real worker (preparePlan + submit, as `bpoflow run` does), and writes
// bench-results/bpo-hh.md and (unless --quick) the README section between the bench:bpo-hh markers;
// bench/run.ts saves the JSON. The data is never part of the repo: without a path it skips.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { startPrivateStack } from '../infra/stack.js';
import { spawnWorker } from '../infra/worker-process.js';
import { connectClient } from '../cli/connect.js';
import { preparePlan, submit } from '../cli/run-commands.js';
import { packageRoot } from '../spec/package-root.js';
import { ArtifactStore } from '../store/artifacts.js';
import type { RunStatus } from '../workflows/pipeline.js';
import {
  armsFromOutputs,
  HH_ARMS,
  hhMarkdown,
  meanReplyChars,
  summarizeHh,
  type HhArm,
  type HhSeedRun,
  type HhSummary,
} from './bpo-hh-report.js';
import { benchResultsDir, saveBenchResult } from './save.js';
import { replaceMarkedSection } from './readme-section.js';

export const HH_DATA_HINT =
  'needs the HH-RLHF harmless-base test split: download harmless-base/test.jsonl.gz from ' +
  'github.com/anthropics/hh-rlhf and pass --hh=PATH (or set BPOFLOW_HH_DATA=PATH)';

/** Pipeline outputs copied as they are into each seed's `shared` numbers. */
const SHARED_OUTPUTS = [
  'rmAAccuracy',
  'rmBAccuracy',
  'rmEvalPairs',
  'sftReward',
  'importedRows',
  'skippedRows',
  'promptsA',
  'promptsB',
  'heldOutPrompts',
  'augmentedPairs',
];

/** --quick: one seed, a quarter of A's prompts augmented, fewer DPO steps and eval prompts, no length arm. */
const QUICK_SETS = ['selectFraction=0.25', 'dpoSteps=50', 'evalPrompts=64', 'length=false'];

export interface BenchHhOptions {
  quick: boolean;
  /** Local path of the HH file (.jsonl or .jsonl.gz); default $BPOFLOW_HH_DATA. */
  data?: string;
  seeds?: number[];
  log: (line: string) => void;
}

export interface BenchHhResult {
  runs: HhSeedRun[];
  summary: HhSummary;
  markdown: string;
}

const README = join(packageRoot(), 'README.md');

const secs = (s: { startedAt?: number; endedAt?: number }): number | undefined =>
  s.startedAt && s.endedAt ? (s.endedAt - s.startedAt) / 1000 : undefined;

interface ReplyLengths {
  arms: Partial<Record<HhArm, number>>;
  sft?: number;
}

/** Reply lengths from each arm's eval report (and SFT_A's, from the first), read from the store. */
async function replyLengths(store: ArtifactStore, st: RunStatus): Promise<ReplyLengths> {
  const arms: Partial<Record<HhArm, number>> = {};
  let sft: number | undefined;
  for (const arm of HH_ARMS) {
    const uri = st.steps.find((s) => s.id === `eval-${arm}`)?.outputs?.eval;
    if (typeof uri !== 'string') continue;
    const report = await store.readJson(uri);
    arms[arm] = meanReplyChars(report, 'policy');
    sft ??= meanReplyChars(report, 'reference');
  }
  return { arms, ...(sft !== undefined ? { sft } : {}) };
}

function seedRun(seed: number, st: RunStatus, error: string | undefined, replies: ReplyLengths): HhSeedRun {
  const outputs = st.outputs ?? {};
  const stepS: Record<string, number> = {};
  for (const s of st.steps) {
    const t = s.state === 'succeeded' ? secs(s) : undefined;
    if (t !== undefined) stepS[s.id] = t;
  }
  const shared: Record<string, number> = {};
  for (const k of SHARED_OUTPUTS) if (typeof outputs[k] === 'number') shared[k] = outputs[k];
  if (replies.sft !== undefined) shared.sftReplyChars = replies.sft;
  const backend = st.steps.find((s) => s.telemetry)?.telemetry?.backend;
  return {
    seed,
    state: st.state,
    ...(error ? { error } : {}),
    runId: st.runId,
    wallS: ((st.endedAt ?? Date.now()) - st.startedAt) / 1000,
    shared,
    arms: armsFromOutputs(outputs, stepS, replies.arms),
    stepS,
    ...(backend ? { backend } : {}),
  };
}

/** bench-results/bpo-hh.{md,json} and (unless --quick, a smoke run) the README section, from the seeds done so far. */
function writeTables(
  runs: HhSeedRun[],
  o: { quick: boolean; seeds: number[]; explicitSeeds: boolean; t0: number },
): { summary: HhSummary; markdown: string } {
  const summary = summarizeHh(runs);
  const command =
    `npm run bench -- bpo-hh --hh=PATH${o.quick ? ' --quick' : ''}` +
    `${o.explicitSeeds ? ` --seeds=${o.seeds.join(',')}` : ''}`;
  const backend = runs.find((r) => r.backend)?.backend;
  const body = hhMarkdown(summary, {
    command,
    quick: o.quick,
    minutes: (Date.now() - o.t0) / 60000,
    ...(backend ? { backend } : {}),
  });
  const markdown = `# BPO on HH-RLHF (harmless-base test split, micro GPT-2)\n\n${body}`;
  writeFileSync(join(benchResultsDir(), 'bpo-hh.md'), markdown);
  saveBenchResult('bpo-hh', { runs, summary, markdown });
  if (!o.quick) writeFileSync(README, replaceMarkedSection(readFileSync(README, 'utf8'), 'bpo-hh', body));
  return { summary, markdown };
}

/** Runs the check, or logs how to get the data and returns undefined when there is none. */
export async function benchBpoHh(opts: BenchHhOptions): Promise<BenchHhResult | undefined> {
  const data = opts.data ?? process.env.BPOFLOW_HH_DATA;
  if (!data) {
    opts.log(`skipped: ${HH_DATA_HINT}`);
    return undefined;
  }
  if (!existsSync(data)) throw new Error(`--hh=${data}: file not found; ${HH_DATA_HINT}`);
  // Fails before the compute, not after, when the README lost its markers.
  if (!opts.quick) replaceMarkedSection(readFileSync(README, 'utf8'), 'bpo-hh', '');
  const t0 = Date.now();
  const seeds = opts.seeds ?? (opts.quick ? [0] : [0, 1, 2]);
  const pipeline = join(packageRoot(), 'pipelines', 'bench', 'hh', 'bpo-hh.yaml');
  const stack = await startPrivateStack(mkdtempSync(join(tmpdir(), 'bpoflow-bench-bpo-hh-')));
  Object.assign(process.env, stack.env);
  const runs: HhSeedRun[] = [];
  try {
    const worker = await spawnWorker(['--queues', 'cpu,gpu'], process.env);
    try {
      const client = await connectClient();
      const store = ArtifactStore.fromEnv();
      const uri = `s3://${store.bucket}/data/${basename(data)}`;
      await store.put(uri, data, { kind: 'dataset' });
      for (const seed of seeds) {
        const set = [...(opts.quick ? QUICK_SETS : []), `data=${uri}`, `seed=${seed}`];
        const handle = await submit(client, await preparePlan(pipeline, { set }, store));
        let error: string | undefined;
        try {
          await handle.result();
        } catch (e) {
          error = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
        }
        const status = await handle.query<RunStatus>('status');
        const run = seedRun(seed, status, error, await replyLengths(store, status));
        runs.push(run);
        const arms = Object.entries(run.arms)
          .map(([arm, a]) => `${arm} ${a.winRate.toFixed(3)}`)
          .join(', ');
        opts.log(
          `seed ${seed}: ${run.state} in ${run.wallS.toFixed(0)} s; RM_B accuracy ` +
            `${run.shared.rmBAccuracy?.toFixed(3)}; win rate vs SFT: ${arms}${error ? ` — ${error}` : ''}`,
        );
        // Every finished seed updates the tables, so a long run stopped early still leaves its figures.
        writeTables(runs, { quick: opts.quick, seeds, explicitSeeds: !!opts.seeds, t0 });
      }
    } finally {
      await worker.stop();
    }
  } finally {
    await stack.stop();
  }
  const { summary, markdown } = writeTables(runs, { quick: opts.quick, seeds, explicitSeeds: !!opts.seeds, t0 });
  opts.log(`\n${markdown}`);
  return { runs, summary, markdown };
}

/** `--seeds=0,1,2` → [0, 1, 2]; undefined without the flag. */
export function parseSeeds(args: readonly string[]): number[] | undefined {
  const flag = args.find((a) => a.startsWith('--seeds='));
  if (!flag) return undefined;
  const seeds = flag
    .slice('--seeds='.length)
    .split(',')
    .map((s) => Number(s.trim()));
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new Error(`${flag}: expected comma-separated non-negative integers, e.g. --seeds=0,1,2`);
  }
  return seeds;
}
