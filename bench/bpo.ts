// `npm run bench -- bpo [--quick]`: the BPO benchmark. Runs pipelines/bench/bpo.yaml
// (raw, uniform, length and gradient arms from one SFT policy, equal DPO compute) for
// every seed and budget regime, the way `bpoflow run` does (preparePlan + submit), on a
// private stack with a real worker. Writes bench-results/bpo.json (per regime and task
// family, every arm's held-out mean reward per seed, mean and std, tokens, depth-step
// seconds, paired tests), bench-results/bpo.md, and the README's table between its
// `<!-- bench:bpo:start -->` / `<!-- bench:bpo:end -->` markers.
// Iterating: `--set=name=value` (repeatable) overrides pipeline params, `--seeds=0,1`,
// `--regimes=cut`, `--tag=NAME` writes bench-results/bpo-NAME.* and leaves the README alone
// (so does --quick); BPOFLOW_BENCH_HOME=DIR keeps the stack (and its step cache) between runs.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrivateStack } from '../infra/stack.js';
import { spawnWorker } from '../infra/worker-process.js';
import { connectClient } from '../cli/connect.js';
import { preparePlan, submit } from '../cli/run-commands.js';
import { packageRoot } from '../spec/package-root.js';
import { ArtifactStore } from '../store/artifacts.js';
import type { RunStatus } from '../workflows/pipeline.js';
import { FAMILIES, familyOf } from './tasks/families.js';
import { pairedSignFlip, seedSummary, type PairedTest, type SeedSummary } from './stats.js';

export const ARMS = ['raw', 'uniform', 'length', 'bpo'] as const;
export type Arm = (typeof ARMS)[number];

/** The two budget regimes, as pipeline params (pipelines/bench/bpo.yaml explains them). */
export const REGIMES: Record<string, { label: string; set: string[] }> = {
  cut: {
    label: "(a) breadth cut to 50%, uniform K = 4: about the raw set's pair count",
    set: ['selectFraction=0.5', 'depth=4'],
  },
  full: { label: '(b) no breadth cut, uniform K = 3: augmentation adds pairs', set: ['selectFraction=1', 'depth=3'] },
};

/** Steps each arm needs on top of the shared SFT; their seconds add up to the arm's wall time. */
const ARM_STEPS: Record<Arm, string[]> = {
  raw: ['raw-train', 'raw-eval'],
  uniform: ['select', 'augment', 'uniform', 'uniform-train', 'uniform-eval'],
  length: ['select', 'augment', 'uniform', 'length', 'length-train', 'length-eval'],
  bpo: ['select', 'augment', 'uniform', 'depth', 'bpo-train', 'bpo-eval'],
};
const DEPTH_STEP: Record<Arm, string | undefined> = {
  raw: undefined,
  uniform: 'uniform',
  length: 'length',
  bpo: 'depth',
};

interface ArmRun {
  perPrompt: { prompt: string; reward: number }[];
  sftPerPrompt: { prompt: string; reward: number }[];
  tokens: number;
  pairs: number;
  depthStepS: number;
  wallS: number;
}
interface RegimeRun {
  seed: number;
  regime: string;
  runId: string;
  state: string;
  error?: string;
  arms: Partial<Record<Arm, ArmRun>>;
}

export interface Options {
  quick: boolean;
  log: (l: string) => void;
  seeds?: number[];
  regimes?: string[];
  set?: string[];
  tag?: string;
}

export function parseBpoArgs(argv: string[]): Omit<Options, 'log' | 'quick'> {
  const val = (name: string) => argv.filter((a) => a.startsWith(`--${name}=`)).map((a) => a.slice(name.length + 3));
  const list = (name: string) =>
    val(name)
      .flatMap((v) => v.split(','))
      .filter(Boolean);
  const seeds = list('seeds').map(Number);
  const regimes = list('regimes');
  for (const r of regimes)
    if (!REGIMES[r]) throw new Error(`--regimes: unknown regime "${r}" (known: ${Object.keys(REGIMES).join(', ')})`);
  return {
    ...(seeds.length ? { seeds } : {}),
    ...(regimes.length ? { regimes } : {}),
    set: val('set'),
    tag: val('tag')[0],
  };
}

const stepSeconds = (st: RunStatus, id: string): number => {
  const s = st.steps.find((x) => x.id === id);
  return s && s.state === 'succeeded' && s.startedAt && s.endedAt ? (s.endedAt - s.startedAt) / 1000 : 0;
};

export async function benchBpo(opts: Options) {
  const t0 = Date.now();
  const seeds = opts.seeds ?? (opts.quick ? [0] : [0, 1, 2]);
  const regimes = opts.regimes ?? Object.keys(REGIMES);
  const quickSet = opts.quick ? ['sftSteps=150', 'dpoSteps=20', 'evalPrompts=48'] : [];
  const common = [...quickSet, ...(opts.set ?? [])];
  const pipeline = join(packageRoot(), 'pipelines', 'bench', 'bpo.yaml');
  const home = process.env.BPOFLOW_BENCH_HOME ?? mkdtempSync(join(tmpdir(), 'bpoflow-bench-bpo-'));
  mkdirSync(home, { recursive: true });
  const stack = await startPrivateStack(home);
  Object.assign(process.env, stack.env);
  const runs: RegimeRun[] = [];
  // A step's seconds where it actually ran (cached steps report none): SFT and the raw arm are shared by the regimes.
  const ranS = new Map<string, number>();
  try {
    // Seeds run side by side (one step each at a time); a seed's regimes run in turn, so the second reuses its SFT.
    const n = seeds.length;
    const worker = await spawnWorker(['--queues', 'cpu,gpu', '--concurrency', `cpu=${n},gpu=${n}`], process.env);
    try {
      const client = await connectClient();
      const store = ArtifactStore.fromEnv();
      const statuses = new Map<string, Promise<RunStatus | undefined>>();
      const statusOf = (runId: string) => {
        if (!statuses.has(runId)) {
          const q = client.workflow.getHandle(runId).query<RunStatus>('status');
          statuses.set(
            runId,
            q.catch(() => undefined),
          );
        }
        return statuses.get(runId)!;
      };
      const chain = async (seed: number) => {
        for (const regime of regimes) {
          const set = [...REGIMES[regime]!.set, ...common, `seed=${seed}`];
          const plan = await preparePlan(pipeline, { set }, store);
          const handle = await submit(client, plan);
          let error: string | undefined;
          try {
            await handle.result();
          } catch (e) {
            error = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
          }
          const st = await handle.query<RunStatus>('status');
          for (const s of st.steps) {
            // A cached step counts the seconds of the run that computed it (e.g. an earlier one in BPOFLOW_BENCH_HOME).
            const from = s.state === 'cached' && s.reusedFrom ? await statusOf(s.reusedFrom) : st;
            const secs = from ? stepSeconds(from, s.id) : 0;
            if (secs > 0) {
              ranS.set(`${seed}/${s.id}/${regime}`, secs);
              ranS.set(`${seed}/${s.id}`, secs);
            }
          }
          const secsOf = (id: string) => ranS.get(`${seed}/${id}/${regime}`) ?? ranS.get(`${seed}/${id}`) ?? 0;
          const run: RegimeRun = { seed, regime, runId: st.runId, state: st.state, error, arms: {} };
          const o = st.outputs ?? {};
          if (st.state === 'succeeded') {
            for (const arm of ARMS) {
              const ev = await store.readJson<{
                perPrompt: { prompt: string; reward: number; referenceReward: number }[];
              }>(String(o[`${arm}Eval`]));
              const depth = DEPTH_STEP[arm];
              run.arms[arm] = {
                perPrompt: ev.perPrompt.map((p) => ({ prompt: p.prompt, reward: p.reward })),
                sftPerPrompt: ev.perPrompt.map((p) => ({ prompt: p.prompt, reward: p.referenceReward })),
                tokens: Number(o[`${arm}Tokens`]),
                pairs: Number(o[`${arm}Pairs`]),
                depthStepS: depth ? secsOf(depth) : 0,
                wallS: secsOf('sft') + ARM_STEPS[arm].reduce((s, id) => s + secsOf(id), 0),
              };
            }
          }
          runs.push(run);
          const brief = ARMS.map(
            (a) => `${a} ${mean(run.arms[a]?.perPrompt.map((p) => p.reward) ?? []).toFixed(3)}`,
          ).join(' ');
          const at = `${((Date.now() - t0) / 60000).toFixed(1)} min`;
          opts.log(`seed ${seed} ${regime}: ${st.state} ${brief} (${at})${error ? ` — ${error}` : ''}`);
        }
      };
      await Promise.all(seeds.map(chain));
      runs.sort((a, b) => a.seed - b.seed || regimes.indexOf(a.regime) - regimes.indexOf(b.regime));
    } finally {
      await worker.stop();
    }
  } finally {
    await stack.stop();
  }
  const minutes = (Date.now() - t0) / 60000;
  const flags = [...(opts.quick ? ['--quick'] : []), ...(opts.set ?? []).map((s) => `--set=${s}`)];
  const command = ['npm run bench -- bpo', ...flags].join(' ');
  const result = summarize(runs, regimes, { seeds, quick: opts.quick, set: common, command, minutes });
  const md = markdown(result);
  const name = opts.tag ? `bpo-${opts.tag}` : opts.quick ? 'bpo-quick' : 'bpo';
  const out = join(packageRoot(), 'bench-results');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, `${name}.json`),
    JSON.stringify(
      { benchmark: 'bpo', when: new Date().toISOString(), node: process.version, ...result, runs },
      null,
      2,
    ) + '\n',
  );
  writeFileSync(join(out, `${name}.md`), md);
  if (name === 'bpo') updateReadme(md);
  opts.log(`\n${md}\nwrote bench-results/${name}.json and .md${name === 'bpo' ? ' and the README table' : ''}`);
  return result;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

type Group = string; // a family name or 'overall'

export interface RegimeResult {
  label: string;
  families: Record<Group, Record<Arm, SeedSummary>>;
  sft: Record<Group, SeedSummary>;
  /** Tokens processed by bpo.train per seed, and each arm's ratio to raw's. */
  tokens: Record<Arm, SeedSummary & { ratioToRaw: number }>;
  pairs: Record<Arm, SeedSummary>;
  /** Seconds of the arm's depth step (0 for raw), and of all its steps with the shared SFT. */
  depthStepS: Record<Arm, SeedSummary>;
  wallS: Record<Arm, SeedSummary & { ratioToUniform: number }>;
  /** Per-prompt paired sign-flip tests, seeds pooled: a vs b over the same test prompts. */
  pairedTests: Record<string, Record<Group, PairedTest>>;
}

export function summarize(
  runs: RegimeRun[],
  regimes: string[],
  meta: { seeds: number[]; quick: boolean; set: string[]; command: string; minutes: number },
) {
  const groups: Group[] = [...FAMILIES.map((f) => f.name), 'overall'];
  const inGroup = (g: Group) => (p: { prompt: string }) => g === 'overall' || familyOf(p.prompt) === g;
  const out: Record<string, RegimeResult> = {};
  for (const regime of regimes) {
    const ok = runs.filter((r) => r.regime === regime && r.state === 'succeeded');
    const per = <T>(f: (r: RegimeRun) => T) => ok.map(f);
    const armStat = (arm: Arm, f: (a: ArmRun) => number) => seedSummary(per((r) => f(r.arms[arm]!)));
    const byArm = <T>(f: (arm: Arm) => T) => Object.fromEntries(ARMS.map((a) => [a, f(a)])) as Record<Arm, T>;
    const rewardIn = (g: Group) => (a: ArmRun) => mean(a.perPrompt.filter(inGroup(g)).map((p) => p.reward));
    const tokens = byArm((a) => armStat(a, (x) => x.tokens));
    const wall = byArm((a) => armStat(a, (x) => x.wallS));
    const pairsOf = (a: Arm, g: Group) =>
      per((r) => r.arms[a]!.perPrompt.filter(inGroup(g)).map((p) => p.reward)).flat();
    const tests: [Arm, Arm][] = [
      ['bpo', 'uniform'],
      ['uniform', 'raw'],
      ['bpo', 'raw'],
      ['bpo', 'length'],
    ];
    out[regime] = {
      label: REGIMES[regime]!.label,
      families: Object.fromEntries(groups.map((g) => [g, byArm((a) => armStat(a, rewardIn(g)))])),
      sft: Object.fromEntries(
        groups.map((g) => [
          g,
          seedSummary(per((r) => mean(r.arms.raw!.sftPerPrompt.filter(inGroup(g)).map((p) => p.reward)))),
        ]),
      ),
      tokens: byArm((a) => ({ ...tokens[a], ratioToRaw: tokens[a].mean / tokens.raw.mean })),
      pairs: byArm((a) => armStat(a, (x) => x.pairs)),
      depthStepS: byArm((a) => armStat(a, (x) => x.depthStepS)),
      wallS: byArm((a) => ({ ...wall[a], ratioToUniform: wall[a].mean / wall.uniform.mean })),
      pairedTests: Object.fromEntries(
        tests.map(([a, b]) => [
          `${a}-vs-${b}`,
          Object.fromEntries(groups.map((g) => [g, pairedSignFlip(pairsOf(a, g), pairsOf(b, g))])),
        ]),
      ),
    };
  }
  return { ...meta, arms: ARMS, families: groups, regimes: out };
}

const pm = (s: SeedSummary, digits = 3) =>
  Number.isFinite(s.mean) ? `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}` : 'n/a';
const ARM_LABEL: Record<Arm, string> = {
  raw: 'raw DPO',
  uniform: 'uniform depth',
  length: 'length depth',
  bpo: 'BPO (gradient depth)',
};

export function markdown(r: ReturnType<typeof summarize>): string {
  const quick = r.quick ? ' (--quick: 150 SFT and 20 DPO steps, 12 test prompts per family)' : '';
  const took = `${r.minutes.toFixed(1)} min in all`;
  const lines = [`Seeds ${r.seeds.join(', ')}${quick}; ${took}. Regenerate: \`${r.command}\`.`, ''];
  for (const [regime, x] of Object.entries(r.regimes)) {
    const fam = r.families;
    lines.push(
      `**Regime ${x.label}** (\`${regime}\`). Held-out mean reward (test prompts × samples at temperature 1, ` +
        '`tasks` verifier), mean ± std over seeds:',
      '',
    );
    lines.push(`| arm | ${fam.join(' | ')} | pairs | tokens (÷ raw) | depth step s | wall s (÷ uniform) |`);
    lines.push(`|---|${fam.map(() => '---:').join('|')}|---:|---:|---:|---:|`);
    lines.push(`| SFT start | ${fam.map((g) => pm(x.sft[g]!)).join(' | ')} | – | – | – | – |`);
    for (const a of ARMS) {
      const cells = fam.map((g) => pm(x.families[g]![a]));
      const tokens = `${x.tokens[a].mean.toFixed(0)} (${x.tokens[a].ratioToRaw.toFixed(3)})`;
      const wall = `${x.wallS[a].mean.toFixed(0)} (${x.wallS[a].ratioToUniform.toFixed(2)})`;
      const row = [ARM_LABEL[a], ...cells, pm(x.pairs[a], 0), tokens, pm(x.depthStepS[a], 1), wall];
      lines.push(`| ${row.join(' | ')} |`);
    }
    lines.push('');
    const cell = (name: string, g: Group) => {
      const pt = x.pairedTests[name]![g]!;
      return `${g} ${signed(pt.diff)} (p ${pt.p.toFixed(3)})`;
    };
    const t = (name: string) => `${name.replace('-vs-', ' − ')}: ${fam.map((g) => cell(name, g)).join(', ')}`;
    lines.push(
      'Paired sign-flip tests over test prompts, seeds pooled (mean difference, two-sided p): ' +
        `${Object.keys(x.pairedTests).map(t).join('; ')}.`,
      '',
    );
    const o = x.families.overall!;
    const holds = (seedwise: boolean) =>
      o.bpo.mean > o.uniform.mean &&
      o.uniform.mean > o.raw.mean &&
      (!seedwise ||
        o.bpo.perSeed.every((v, i) => v > o.uniform.perSeed[i]! && o.uniform.perSeed[i]! > o.raw.perSeed[i]!));
    const verdict = holds(true) ? 'holds on every seed' : holds(false) ? 'holds on the mean only' : 'does not hold';
    const means = ARMS.map((a) => `${a} ${o[a].mean.toFixed(3)}`).join(', ');
    const ratio = x.wallS.bpo.ratioToUniform.toFixed(2);
    lines.push(`Goal BPO > uniform > raw (overall): **${verdict}** (${means}); BPO wall ÷ uniform wall ${ratio}.`, '');
  }
  return lines.join('\n');
}

const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;

const START = '<!-- bench:bpo:start -->';
const END = '<!-- bench:bpo:end -->';

/** Replaces the README's benchmark table (between the markers) with `md`. */
export function updateReadme(md: string, file = join(packageRoot(), 'README.md')): void {
  if (!existsSync(file)) return;
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${file}: no ${START} … ${END} markers to put the BPO table between`);
  writeFileSync(file, `${text.slice(0, a + START.length)}\n${md.trim()}\n${text.slice(b)}`);
}
