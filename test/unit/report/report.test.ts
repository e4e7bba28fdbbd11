// The report's charts and page from a recorded ReportData (no stack), and the
// "no data" messages of an empty run.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../../spec/package-root.js';
import { buildCharts, writeReport, type ReportData } from '../../../cli/report/index.js';
import { promptText } from '../../../cli/report/data.js';

const fixture = () =>
  JSON.parse(
    readFileSync(join(packageRoot(), 'test', 'fixtures', 'report', 'train-report.json'), 'utf8'),
  ) as ReportData;

describe('run report', () => {
  test('a training run gets every plot, as inline SVG and as PNG', async () => {
    const data = fixture();
    assert.deepEqual(
      buildCharts(data).map((c) => c.id),
      [
        'timeline',
        'loss-train',
        'reward-margins-train',
        'reward-accuracies-train',
        'rewards-train',
        'depth-histogram',
        'breadth',
        'clusters-train',
        'allocation-train',
      ],
    );
    const dir = mkdtempSync(join(tmpdir(), 'bpoflow-report-unit-'));
    const { html, pngs, charts } = await writeReport(data, dir);
    const page = readFileSync(html, 'utf8');
    for (const c of charts) {
      assert.match(page, new RegExp(`<figure class="plot" id="plot-${c.id}" data-plot="${c.id}">\\n<svg`));
      assert.ok(c.svg.includes('class="mark-'), `${c.id} has marks`);
    }
    assert.equal(pngs.length, charts.length);
    for (const p of pngs) assert.equal(readFileSync(p).subarray(1, 4).toString('latin1'), 'PNG');
    assert.doesNotMatch(page, /<script/);
    assert.match(page, /eval\/win_rate/);
    assert.match(page, /class="lineage"/);
  });

  test('an empty run: every section says there is no data', async () => {
    const data: ReportData = {
      ...fixture(),
      steps: [],
      curves: [],
      stats: [],
      clusters: [],
      allocation: [],
      eval: [],
      lineage: [],
      outputs: {},
      problems: ['clusters s3://b/x: expected {points: [{x, y, cluster}]}'],
    };
    assert.deepEqual(buildCharts(data), []);
    const { html } = await writeReport(data, mkdtempSync(join(tmpdir(), 'bpoflow-report-unit-')));
    const page = readFileSync(html, 'utf8');
    for (const msg of [
      'This run has no steps',
      'No training metrics',
      'No dataset statistics',
      'No gradient clusters',
      'No depth allocation',
      'No eval results',
      'No model artifact',
    ]) {
      assert.ok(page.includes(msg), msg);
    }
    assert.match(page, /Unreadable artifacts/);
  });

  test('step ids and prompts are escaped', async () => {
    const data = fixture();
    data.steps[0]!.id = '<img src=x onerror=alert(1)>';
    const { html } = await writeReport(data, mkdtempSync(join(tmpdir(), 'bpoflow-report-unit-')));
    assert.doesNotMatch(readFileSync(html, 'utf8'), /<img src=x/);
  });

  test('each training step gets its own charts, drawn through the measured points only', () => {
    const data = fixture();
    const dpo = data.curves.filter((c) => c.stepId === 'train');
    // An SFT step with a loss 10x larger and 50x longer, as in the BPO example.
    const sft = Array.from({ length: 1000 }, (_, i) => ({
      stepId: 'sft',
      step: i + 1,
      metric: 'loss',
      value: 6 * Math.exp(-i / 200),
    }));
    data.steps.push({ ...data.steps.find((s) => s.id === 'train')!, id: 'sft', uses: 'model.sft@v1' });
    data.curves = [...sft, ...dpo];
    const charts = buildCharts(data);
    const loss = charts.filter((c) => c.id.startsWith('loss-')).map((c) => c.id);
    assert.deepEqual(loss, ['loss-sft', 'loss-train']);
    for (const c of charts.filter((x) => x.section === 'training')) {
      const spec = c.spec as { data: { values: { stepId: string }[] }; mark: { interpolate?: string } };
      const owner = c.id.endsWith('-sft') ? 'sft' : 'train';
      assert.ok(
        spec.data.values.every((v) => v.stepId === owner),
        `${c.id} holds only ${owner}'s points`,
      );
      assert.equal(spec.mark.interpolate, undefined, `${c.id}: no smoothing between measured points`);
    }
    assert.match(charts.find((c) => c.id === 'loss-sft')!.title, /sft/);
  });

  test('eval metrics once per step, numbers rounded for people', async () => {
    const data = fixture();
    data.steps.push({
      id: 'gen',
      uses: 'eval.generate@v1',
      queue: 'cpu',
      state: 'succeeded',
      attempts: 1,
      cached: false,
      cacheEnabled: true,
      outputs: { meanReward: 0.8006944444444443 },
    });
    data.eval.push({ stepId: 'gen', metric: 'meanReward', value: 0.8006944444444443 });
    data.outputs = { ...data.outputs, meanReward: 0.8006944444444443 };
    const { html } = await writeReport(data, mkdtempSync(join(tmpdir(), 'bpoflow-report-unit-')));
    const page = readFileSync(html, 'utf8');
    assert.doesNotMatch(page, /0\.8006944/);
    assert.match(page, /<b>meanReward<\/b> = <code>0\.8007<\/code>/);
    assert.match(page, /<td>gen<\/td><td><code>meanReward<\/code><\/td><td class="n">0\.8007<\/td>/);
  });

  test('allocation charts say which bound set each depth', () => {
    const data = fixture();
    data.allocation = [
      {
        stepId: 'depth',
        uri: 's3://b/a.json',
        minDepth: 1,
        maxDepth: 4,
        prompts: [
          { prompt: 'c', depth: 3, score: 0.5, available: 9 },
          { prompt: 'a', depth: 4, score: 0.9, available: 9 },
          { prompt: 'd', depth: 1, score: 0.1, available: 9 },
          { prompt: 'b', depth: 2, score: 0.8, available: 2 },
        ],
      },
    ];
    const chart = buildCharts(data).find((c) => c.id === 'allocation-depth')!;
    const values = (chart.spec as { data: { values: { decided: string }[] } }).data.values;
    assert.deepEqual(
      values.map((v) => v.decided),
      ['max depth', 'all its pairs', 'budget share', 'min depth'],
    );
    assert.deepEqual(
      (chart.spec as { data: { values: { prompt: string }[] } }).data.values.map((v) => v.prompt),
      ['1. a', '2. b', '3. c', '4. d'],
      'highest score first',
    );
  });

  test('prompts show their last human turn', () => {
    assert.equal(
      promptText('\n\nHuman: hi\n\nAssistant: hello\n\nHuman: how do I bake bread?\n\nAssistant:'),
      'how do I bake bread?',
    );
    assert.equal(
      promptText([
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: ' second ' },
      ]),
      'second',
    );
    assert.equal(promptText('plain prompt'), 'plain prompt');
  });
});
