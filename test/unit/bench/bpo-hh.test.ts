// The HH-RLHF check without its data: the pipeline's design (the judge never sees half A,
// equal DPO compute, one judge and one reference for every arm), the per-arm reading of a
// run's outputs, the mean ± std table, the README section rewrite and the bench's flags.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  armsFromOutputs,
  hhMarkdown,
  meanReplyChars,
  paperOrderingHolds,
  summarizeHh,
  type HhSeedRun,
} from '../../../bench/bpo-hh-report.js';
import { parseSeeds } from '../../../bench/bpo-hh.js';
import { replaceMarkedSection } from '../../../bench/readme-section.js';
import { formatMeanStd, meanStd } from '../../../bench/stats.js';
import { defaultCatalogDir, loadCatalog } from '../../../spec/catalog.js';
import { compile } from '../../../spec/compile.js';
import { formatProblem } from '../../../spec/problem.js';
import { packageRoot } from '../../../spec/package-root.js';
import type { Plan, PlanStep, PlanValue } from '../../../spec/plan.js';

const pipelineFile = join(packageRoot(), 'pipelines', 'bench', 'hh', 'bpo-hh.yaml');

function compilePipeline(): Plan {
  const catalog = loadCatalog(defaultCatalogDir());
  const r = compile(readFileSync(pipelineFile, 'utf8'), { file: pipelineFile, catalog });
  assert.deepEqual(r.problems.map(formatProblem), []);
  return r.plan!;
}

/** Every `steps.<id>.outputs.<name>` a step's arguments reference, as "id.name". */
function outputRefs(value: PlanValue | undefined, out: string[] = []): string[] {
  if (value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) {
    for (const v of value) outputRefs(v, out);
    return out;
  }
  const walk = (e: unknown): void => {
    if (e === null || typeof e !== 'object') return;
    const ref = (e as { ref?: unknown }).ref;
    if (Array.isArray(ref) && ref[0] === 'steps') out.push(`${String(ref[1])}.${String(ref[3])}`);
    for (const v of Object.values(e as object)) walk(v);
  };
  if ('$expr' in value) walk(value.$expr);
  else for (const v of Object.values(value)) outputRefs(v, out);
  return out;
}

function step(plan: Plan, id: string): PlanStep {
  const s = plan.steps.find((x) => x.id === id);
  assert.ok(s, `step ${id}`);
  return s;
}

/** The steps whose outputs feed `id`, transitively, with the split outputs they read. */
function upstream(plan: Plan, id: string): Set<string> {
  const seen = new Set<string>();
  const visit = (sid: string) => {
    for (const ref of outputRefs(step(plan, sid).with)) {
      if (seen.has(ref)) continue;
      seen.add(ref);
      visit(ref.split('.')[0]!);
    }
  };
  visit(id);
  return seen;
}

describe('pipelines/bench/hh/bpo-hh.yaml', () => {
  const plan = compilePipeline();

  test('splits by prompt into two equal halves and a held-out rest', () => {
    const split = step(plan, 'split');
    assert.equal(split.kind, 'dataset.split');
    assert.equal(split.with.train, plan.params.halfFraction);
    assert.equal(split.with.validation, plan.params.halfFraction);
    assert.ok(1 - 2 * Number(plan.params.halfFraction) > 0, 'some prompts are held out');
  });

  test('the judge RM_B is trained on half B only: nothing of half A reaches it', () => {
    const judge = upstream(plan, 'rm-b');
    assert.ok(judge.has('split.validation'));
    const fromA = [...judge].filter((r) => r === 'split.train' || r.startsWith('sft-a.') || r.startsWith('rm-a.'));
    assert.deepEqual(fromA, []);
    // …and the training side never reads half B.
    for (const id of ['rm-a', 'augment', 'dpo-raw', 'dpo-uniform', 'dpo-bpo', 'dpo-length']) {
      assert.ok(!upstream(plan, id).has('split.validation'), id);
    }
  });

  test('every arm trains the same DPO steps × batch from SFT_A and is judged by RM_B against SFT_A', () => {
    const arms = ['raw', 'uniform', 'bpo', 'length'];
    const dpo = arms.map((a) => step(plan, `dpo-${a}`));
    for (const s of dpo) {
      assert.equal(s.with.maxSteps, plan.params.dpoSteps);
      assert.equal(s.with.batchSize, plan.params.dpoBatch);
      assert.deepEqual(outputRefs(s.with.model), ['sft-a.model']);
    }
    for (const a of arms) {
      const e = step(plan, `eval-${a}`);
      assert.deepEqual(outputRefs(e.with.model), [`dpo-${a}.model`]);
      assert.deepEqual(outputRefs(e.with.reference), ['sft-a.model']);
      assert.deepEqual(outputRefs(e.with.reward), ['rm-b.model']);
      assert.deepEqual(outputRefs(e.with.data), ['split.test']);
    }
    assert.deepEqual(outputRefs(step(plan, 'depth').with.budget), ['uniform.pairs'], 'bpo: uniform’s pair budget');
    assert.deepEqual(outputRefs(step(plan, 'by-length').with.budget), ['uniform.pairs']);
  });
});

/** Per arm: trainWinRate, reward, kl, pairs, prompts, tokens (length: skipped, all null). */
const ARM_OUTPUTS: Record<string, (number | null)[]> = {
  raw: [0.5, 0.1, 0.2, 1000, 1000, 70000],
  uniform: [0.7, 0.3, 0.1, 500, 250, 50000],
  bpo: [0.8, 0.4, 0.1, 500, 200, 51000],
  length: [null, null, null, null, null, null],
};
const FIELDS = ['TrainWinRate', 'Reward', 'Kl', 'Pairs', 'Prompts', 'Tokens'];

/** A run's outputs as the pipeline names them, with the given judge win rates. */
const outputs = (win: Record<string, number>): Record<string, number | null> =>
  Object.fromEntries(
    Object.entries(ARM_OUTPUTS).flatMap(([arm, values]) => [
      [`${arm}WinRate`, win[arm] ?? null],
      ...FIELDS.map((f, i) => [`${arm}${f}`, values[i] ?? null]),
    ]),
  );

function run(seed: number, win: Record<string, number>, state = 'succeeded'): HhSeedRun {
  const stepS = { 'dpo-raw': 10, 'dpo-uniform': 8, 'dpo-bpo': 9, augment: 100 + seed };
  return {
    seed,
    state,
    runId: `r${seed}`,
    wallS: 600,
    stepS,
    arms: armsFromOutputs(outputs(win), stepS, { raw: 30, uniform: 2, bpo: 3 + seed }),
    shared: { rmAAccuracy: 0.55 + seed / 100, rmBAccuracy: 0.6, rmEvalPairs: 230, sftReward: -0.1, sftReplyChars: 29 },
  };
}

describe('bpo-hh results', () => {
  test('reads the arms from a run’s outputs and leaves out a skipped arm', () => {
    const arms = armsFromOutputs(outputs({ raw: 0.5, uniform: 0.55, bpo: 0.6 }), { 'dpo-bpo': 9 }, { bpo: 2.5 });
    assert.deepEqual(Object.keys(arms), ['raw', 'uniform', 'bpo']);
    const bpo = {
      winRate: 0.6,
      trainWinRate: 0.8,
      reward: 0.4,
      kl: 0.1,
      pairs: 500,
      prompts: 200,
      tokens: 51000,
      dpoS: 9,
      replyChars: 2.5,
    };
    assert.deepEqual(arms.bpo, bpo);
    assert.ok(Number.isNaN(arms.raw!.dpoS), 'a step without a time is NaN, not 0');
    assert.ok(Number.isNaN(arms.raw!.replyChars));
  });

  test('mean reply length over every sample of an eval report’s examples', () => {
    const report = {
      examples: [
        { policy: ['ab', 'abcd'], reference: ['x'] },
        { policy: ['abcdef'], reference: [7] },
      ],
    };
    assert.equal(meanReplyChars(report, 'policy'), 4);
    assert.equal(meanReplyChars(report, 'reference'), 1, 'non-strings are not replies');
    assert.ok(Number.isNaN(meanReplyChars({ examples: [] }, 'policy')));
    assert.ok(Number.isNaN(meanReplyChars(null, 'policy')));
  });

  test('averages over the succeeded seeds only', () => {
    const s = summarizeHh([
      run(0, { raw: 0.4, uniform: 0.55, bpo: 0.6 }),
      run(1, { raw: 0.6, uniform: 0.55, bpo: 0.7 }),
      run(2, { raw: 0.9, uniform: 0.9, bpo: 0.9 }, 'failed'),
    ]);
    assert.deepEqual(s.seeds, [0, 1]);
    assert.equal(s.failed, 1);
    assert.equal(s.arms.raw!.n, 2);
    assert.deepEqual(
      s.arms.raw!.winRate.map((x) => +x.toFixed(6)),
      [0.5, +Math.sqrt(0.02).toFixed(6)],
    );
    assert.deepEqual(s.arms.uniform!.winRate, [0.55, 0]);
    assert.equal(s.arms.length, undefined);
    assert.deepEqual(
      s.shared.rmAAccuracy!.map((x) => +x.toFixed(6)),
      [0.555, +Math.sqrt(0.00005).toFixed(6)],
    );
    assert.deepEqual(s.stepS.augment, [100.5, Math.sqrt(0.5)]);
    assert.equal(paperOrderingHolds(s), true);
    const md = hhMarkdown(s, { command: 'npm run bench -- bpo-hh --hh=PATH', quick: false, minutes: 20 });
    const row = (...cells: string[]) => `| ${cells.join(' | ')} |`;
    // arm, seeds, win rate by RM_B, by RM_A, RM_B reward, KL, reply chars
    const bpoRow = row(
      'bpo: same pool, gradient depth',
      '2',
      '0.650 ± 0.071',
      '0.800 ± 0.000',
      '0.400 ± 0.000',
      '0.100 ± 0.000',
      '3.5 ± 0.7',
    );
    assert.ok(md.includes(bpoRow), md);
    assert.ok(
      md.includes(row('SFT_A (the reference)', '2', '0.500', '0.500', '-0.100 ± 0.000', '0', '29.0 ± 0.0')),
      md,
    );
    assert.match(md, /raw < uniform < BPO on win rate: \*\*holds\*\* here \(0\.500 \/ 0\.550 \/ 0\.650\)/);
    assert.doesNotMatch(md, /length depth/);
  });

  test('the ordering is strict and needs all three arms', () => {
    assert.equal(paperOrderingHolds(summarizeHh([run(0, { raw: 0.5, uniform: 0.5, bpo: 0.6 })])), false);
    assert.equal(paperOrderingHolds(summarizeHh([run(0, { raw: 0.5, uniform: 0.55 })])), undefined);
  });
});

describe('bench helpers', () => {
  test('mean and sample std', () => {
    assert.deepEqual(meanStd([1, 2, 3]), [2, 1]);
    assert.deepEqual(meanStd([4, NaN]), [4, 0]);
    assert.ok(meanStd([]).every(Number.isNaN));
    assert.equal(formatMeanStd([0.5, 0.0123]), '0.500 ± 0.012');
    assert.equal(formatMeanStd([NaN, NaN]), 'n/a');
  });

  test('rewrites only the text between its markers', () => {
    const y = '<!-- bench:y:start -->\nkeep\n<!-- bench:y:end -->\n';
    const text = `a\n<!-- bench:x:start -->\nold\n<!-- bench:x:end -->\nb\n${y}`;
    assert.equal(
      replaceMarkedSection(text, 'x', '\nnew table\n'),
      `a\n<!-- bench:x:start -->\nnew table\n<!-- bench:x:end -->\nb\n${y}`,
    );
    assert.throws(() => replaceMarkedSection('a\n', 'x', 'b'), /no "<!-- bench:x:start -->"/);
    assert.throws(() => replaceMarkedSection(text + text, 'x', 'b'), /more than once/);
  });

  test('the README has the bpo-hh section the bench rewrites', () => {
    const readme = readFileSync(join(packageRoot(), 'README.md'), 'utf8');
    assert.doesNotThrow(() => replaceMarkedSection(readme, 'bpo-hh', 'x'));
  });

  test('--seeds=', () => {
    assert.equal(parseSeeds(['bpo-hh', '--quick']), undefined);
    assert.deepEqual(parseSeeds(['--seeds=0, 3,4']), [0, 3, 4]);
    assert.throws(() => parseSeeds(['--seeds=1,x']), /--seeds=1,x: expected comma-separated/);
    assert.throws(() => parseSeeds(['--seeds=-1']), /expected/);
  });
});
