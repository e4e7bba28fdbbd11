// The HH-RLHF check's numbers (bench/bpo-hh.ts): one run of pipelines/bench/hh/bpo-hh.yaml
// per seed holds every arm; this module reads each run's outputs into per-arm results,
// averages them over seeds and writes the table. Pure: no stack, no files.
import { formatMeanStd as pm, meanStd } from './stats.js';

/** The arms, in table order; also the keys of the JSON's `arms`. */
export const HH_ARMS = ['raw', 'uniform', 'bpo', 'length'] as const;
export type HhArm = (typeof HH_ARMS)[number];

const ARM_LABEL: Record<HhArm, string> = {
  raw: 'raw: DPO on half A as it is',
  uniform: 'uniform: select + augment + K per prompt',
  bpo: 'bpo: same pool, gradient depth',
  length: 'length: same pool, length depth (ablation)',
};

/** Steps shared by the arms whose seconds the table quotes. */
const SHARED_STEPS = ['sft-a', 'rm-a', 'sft-b', 'rm-b', 'select', 'augment', 'depth'] as const;

export interface HhArmResult {
  /** Share of (held-out prompt, sample) where RM_B scores the arm above SFT_A (ties ½). */
  winRate: number;
  /** The same win rate with RM_A, the reward the arm was trained on, as the scorer. */
  trainWinRate: number;
  /** Mean RM_B reward of the arm's held-out samples. */
  reward: number;
  /** KL(policy ‖ SFT_A) per sampled token. */
  kl: number;
  pairs: number;
  prompts: number;
  /** Tokens processed by the arm's DPO step. */
  tokens: number;
  /** Seconds of the arm's DPO step. */
  dpoS: number;
  /** Mean length in characters of the arm's held-out replies shown in its eval report (NaN if unread). */
  replyChars: number;
}

export interface HhSeedRun {
  seed: number;
  state: string;
  error?: string;
  runId: string;
  wallS: number;
  /** Pipeline outputs that hold for every arm (reward-model accuracies, sizes, SFT reward). */
  shared: Record<string, number>;
  arms: Partial<Record<HhArm, HhArmResult>>;
  /** Seconds per step id (succeeded steps). */
  stepS: Record<string, number>;
  backend?: string;
}

type MeanStd = [number, number];

export interface HhArmSummary {
  n: number;
  winRate: MeanStd;
  trainWinRate: MeanStd;
  reward: MeanStd;
  kl: MeanStd;
  pairs: MeanStd;
  prompts: MeanStd;
  tokens: MeanStd;
  dpoS: MeanStd;
  replyChars: MeanStd;
}

export interface HhSummary {
  seeds: number[];
  failed: number;
  shared: Record<string, MeanStd>;
  arms: Partial<Record<HhArm, HhArmSummary>>;
  stepS: Record<string, MeanStd>;
  wallS: MeanStd;
}

const num = (x: unknown): number => (typeof x === 'number' ? x : NaN);

/**
 * The arms present in a run's outputs (`<arm>WinRate`, `<arm>Reward`, …, as the pipeline
 * names them); an arm whose steps were skipped has null outputs and is left out.
 */
export function armsFromOutputs(
  outputs: Record<string, unknown>,
  stepS: Record<string, number>,
  replyChars: Partial<Record<HhArm, number>> = {},
): Partial<Record<HhArm, HhArmResult>> {
  const arms: Partial<Record<HhArm, HhArmResult>> = {};
  for (const arm of HH_ARMS) {
    if (typeof outputs[`${arm}WinRate`] !== 'number') continue;
    arms[arm] = {
      winRate: num(outputs[`${arm}WinRate`]),
      trainWinRate: num(outputs[`${arm}TrainWinRate`]),
      reward: num(outputs[`${arm}Reward`]),
      kl: num(outputs[`${arm}Kl`]),
      pairs: num(outputs[`${arm}Pairs`]),
      prompts: num(outputs[`${arm}Prompts`]),
      tokens: num(outputs[`${arm}Tokens`]),
      dpoS: stepS[`dpo-${arm}`] ?? NaN,
      replyChars: replyChars[arm] ?? NaN,
    };
  }
  return arms;
}

/**
 * Mean length in characters of the `policy` (or `reference`) replies in an eval.generate report's
 * `examples` (its first 20 prompts, every sample): enough to see a policy collapse to short replies.
 */
export function meanReplyChars(report: unknown, who: 'policy' | 'reference'): number {
  const examples = (report as { examples?: unknown } | null)?.examples;
  if (!Array.isArray(examples)) return NaN;
  const lengths = examples.flatMap((e) => {
    const replies = (e as Record<string, unknown> | null)?.[who];
    return Array.isArray(replies) ? replies.filter((r) => typeof r === 'string').map((r) => r.length) : [];
  });
  return lengths.length ? lengths.reduce((a, b) => a + b, 0) / lengths.length : NaN;
}

/** Mean ± std over the succeeded seeds, per arm and for the shared outputs and step times. */
export function summarizeHh(runs: readonly HhSeedRun[]): HhSummary {
  const ok = runs.filter((r) => r.state === 'succeeded');
  const over = (pick: (r: HhSeedRun) => number | undefined): MeanStd => meanStd(ok.map((r) => pick(r) ?? NaN));
  const sharedKeys = [...new Set(ok.flatMap((r) => Object.keys(r.shared)))];
  const arms: Partial<Record<HhArm, HhArmSummary>> = {};
  for (const arm of HH_ARMS) {
    const withArm = ok.filter((r) => r.arms[arm]);
    if (withArm.length === 0) continue;
    const f = (k: keyof HhArmResult): MeanStd => meanStd(withArm.map((r) => r.arms[arm]![k]));
    arms[arm] = {
      n: withArm.length,
      winRate: f('winRate'),
      trainWinRate: f('trainWinRate'),
      reward: f('reward'),
      kl: f('kl'),
      pairs: f('pairs'),
      prompts: f('prompts'),
      tokens: f('tokens'),
      dpoS: f('dpoS'),
      replyChars: f('replyChars'),
    };
  }
  return {
    seeds: ok.map((r) => r.seed),
    failed: runs.length - ok.length,
    shared: Object.fromEntries(sharedKeys.map((k) => [k, over((r) => r.shared[k])])),
    arms,
    stepS: Object.fromEntries(SHARED_STEPS.map((id) => [id, over((r) => r.stepS[id])])),
    wallS: over((r) => r.wallS),
  };
}

/** Whether the mean win rates rise strictly raw < uniform < bpo (undefined when an arm is missing). */
export function paperOrderingHolds(s: HhSummary): boolean | undefined {
  const [raw, uniform, bpo] = (['raw', 'uniform', 'bpo'] as const).map((a) => s.arms[a]?.winRate[0]);
  if (raw === undefined || uniform === undefined || bpo === undefined) return undefined;
  return raw < uniform && uniform < bpo;
}

export interface HhTableMeta {
  command: string;
  quick: boolean;
  minutes: number;
  backend?: string;
}

/** The table and its reading, as Markdown (no title: the README section and bench-results/bpo-hh.md share it). */
export function hhMarkdown(s: HhSummary, meta: HhTableMeta): string {
  const sh = (k: string, digits = 3) => pm(s.shared[k] ?? [NaN, NaN], digits);
  const int = (k: string) => pm(s.shared[k] ?? [NaN, NaN], 0).replace(/ ± 0$/, '');
  const rows = HH_ARMS.flatMap((arm) => {
    const a = s.arms[arm];
    if (!a) return [];
    const cells = [
      ARM_LABEL[arm],
      String(a.n),
      pm(a.winRate),
      pm(a.trainWinRate),
      pm(a.reward),
      pm(a.kl),
      pm(a.replyChars, 1),
      pm(a.prompts, 0),
      pm(a.pairs, 0),
      pm(a.tokens, 0),
      pm(a.dpoS, 1),
    ];
    return [`| ${cells.join(' | ')} |`];
  });
  const steps = Object.entries(s.stepS)
    .filter(([, [m]]) => Number.isFinite(m))
    .map(([id, [m]]) => `${id} ${m.toFixed(0)} s`)
    .join(', ');
  const ordering = paperOrderingHolds(s);
  const verdict = ordering === undefined ? 'n/a' : ordering ? 'holds' : 'does not hold';
  const failed = s.failed ? ` (${s.failed} failed)` : '';
  const winRates = (['raw', 'uniform', 'bpo'] as const).map((a) => s.arms[a]?.winRate[0].toFixed(3) ?? 'n/a');
  return [
    `Seeds ${s.seeds.join(', ')}${failed}${meta.quick ? ' (--quick: smaller sizes)' : ''}` +
      `; ${meta.minutes.toFixed(1)} min in all${meta.backend ? ` on the ${meta.backend} backend` : ''}. ` +
      `Regenerate: \`${meta.command}\`.`,
    '',
    `Data: HH-RLHF harmless-base test split, ${int('importedRows')} pairs imported (${int('skippedRows')} skipped), ` +
      `split by prompt into half A (${int('promptsA')} prompts), half B (${int('promptsB')}) and ` +
      `${int('heldOutPrompts')} held-out prompts. Judge RM_B (trained on B only) held-out pairwise accuracy ` +
      `**${sh('rmBAccuracy')}**; training reward RM_A (on A) ${sh('rmAAccuracy')}; on ${int('rmEvalPairs')} ` +
      `held-out pairs (chance 0.5). Every arm starts from SFT_A and runs the same DPO steps × batch.`,
    '',
    '| arm | seeds | win rate vs SFT, judged by RM_B | … by RM_A (trained on) | RM_B reward | KL/token ' +
      '| reply chars | prompts | pairs | DPO tokens | DPO s |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    `| SFT_A (the reference) | ${s.seeds.length} | 0.500 | 0.500 | ${sh('sftReward')} | 0 ` +
      `| ${sh('sftReplyChars', 1)} | | | | |`,
    ...rows,
    '',
    `Paper's ordering raw < uniform < BPO on win rate: **${verdict}**` +
      ` here (${winRates.join(' / ')}). Shared steps (mean s): ${steps}; ${int('augmentedPairs')} augmented pairs.`,
    '',
  ].join('\n');
}
