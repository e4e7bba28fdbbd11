// The report's charts and page from a recorded ReportData (no stack), and the
// "no data" messages of an empty run.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../../spec/package-root.js';
import { buildCharts, writeReport, type ReportData } from '../../../cli/report/index.js';

const fixture = () => JSON.parse(readFileSync(join(packageRoot(), 'test', 'fixtures', 'report', 'train-report.json'), 'utf8')) as ReportData;

describe('run report', () => {
  test('a training run gets every plot, as inline SVG and as PNG', async () => {
    const data = fixture();
    assert.deepEqual(
      buildCharts(data).map((c) => c.id),
      ['timeline', 'loss', 'reward-margins', 'reward-accuracies', 'rewards', 'depth-histogram', 'breadth', 'clusters-train', 'allocation-train'],
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
    for (const msg of ['This run has no steps', 'No training metrics', 'No dataset statistics', 'No gradient clusters', 'No depth allocation', 'No eval results', 'No model artifact']) {
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
});
