// `bpoflow report` on real runs, checked in a real browser: Debian's chromium,
// headless, driven by playwright-core. Every plot must render and the page
// must log no console errors. One report is of a shrunk real BPO benchmark run;
// another uses test.train@v1's stand-ins to cover every section cheaply.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { packageRoot } from '../../spec/package-root.js';
import { startWorker, bpoflow, type WorkerHandle } from '../helpers/worker.js';
import { finish, startPipeline } from '../helpers/runs.js';

const root = packageRoot();
// test.train@v1's catalog entry lives with these fixtures (the worker serves the test kinds: test/kinds/).
process.env.BPOFLOW_CATALOG_PATH = [process.env.BPOFLOW_CATALOG_PATH, join(root, 'test', 'fixtures', 'report', 'steps')]
  .filter(Boolean)
  .join(':');
const CHROMIUM = process.env.BPOFLOW_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const noBrowser = existsSync(CHROMIUM) ? false : `no chromium at ${CHROMIUM}: run infra/ensure-chromium.sh`;

let worker: WorkerHandle;
let browser: Browser | undefined;

before(async () => {
  worker = await startWorker();
  if (!noBrowser) browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
after(async () => {
  await browser?.close();
  await worker?.stop();
});

interface PageCheck {
  errors: string[];
  /** clipped: texts drawn outside their plot's box, or cut short with an ellipsis (unreadable legends, labels). */
  plots: { id: string; width: number; height: number; marks: number; clipped: string[] }[];
  text: string;
}

async function openReport(html: string, screenshot?: string): Promise<PageCheck> {
  const page = await browser!.newPage({ viewport: { width: 1200, height: 900 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
  const plots = await page.$$eval('figure.plot', (figs) =>
    figs.map((f) => {
      const svg = f.querySelector('svg');
      const box = svg?.getBoundingClientRect();
      const marks = svg
        ? svg.querySelectorAll(
            'g[class^="mark-"] path, g[class^="mark-"] rect, g[class^="mark-"] line, g[class^="mark-"] circle',
          ).length
        : 0;
      const clipped: string[] = [];
      for (const t of svg
        ? (Array.from(svg.querySelectorAll('text')) as {
            getBoundingClientRect(): typeof box;
            textContent: string | null;
            closest?(selector: string): unknown;
          }[])
        : []) {
        const r = t.getBoundingClientRect()!;
        const text = t.textContent ?? '';
        if (!text.trim()) continue;
        const outside =
          box && (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1);
        // Prompts on axes are shortened on purpose (48 characters); anything else ending in … was cut by the renderer.
        const cut = text.endsWith('…') && !t.closest?.('.role-axis-label');
        if (outside || cut) clipped.push(text);
      }
      return {
        id: f.getAttribute('data-plot') ?? '',
        width: box?.width ?? 0,
        height: box?.height ?? 0,
        marks,
        clipped,
      };
    }),
  );
  const text = await page.innerText('body');
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  await page.close();
  return { errors, plots, text };
}

async function report(run: string): Promise<{ dir: string; html: string; stdout: string }> {
  const dir = process.env.BPOFLOW_REPORT_OUT
    ? join(process.env.BPOFLOW_REPORT_OUT, run)
    : mkdtempSync(join(tmpdir(), 'bpoflow-report-'));
  const res = await bpoflow(['report', run, '--out', dir]);
  assert.equal(res.code, 0, res.stderr);
  const html = join(dir, 'index.html');
  assert.ok(existsSync(html));
  return { dir, html, stdout: res.stdout };
}

describe('run report', () => {
  test('a training run: every plot renders in chromium, no console errors', { skip: noBrowser }, async () => {
    const handle = await startPipeline(join(root, 'test', 'fixtures', 'report', 'train-report.yaml'), [
      'steps=20',
      'sleepMs=30',
    ]);
    const { status, error } = await finish(handle);
    assert.equal(status.state, 'succeeded', String(error));
    const { dir, html, stdout } = await report(handle.workflowId);
    console.log(`report: ${html}\n${stdout}`);

    const expected = [
      'timeline',
      'loss-train',
      'reward-margins-train',
      'reward-accuracies-train',
      'rewards-train',
      'depth-histogram',
      'breadth',
      'clusters-train',
      'allocation-train',
    ];
    for (const id of expected) {
      const png = join(dir, 'plots', `${id}.png`);
      assert.ok(existsSync(png) && statSync(png).size > 2000, `${png} written`);
      assert.deepEqual([...readFileSync(png).subarray(1, 4)], [0x50, 0x4e, 0x47], `${id}.png is a PNG`);
    }
    const source = readFileSync(html, 'utf8');
    assert.doesNotMatch(
      source,
      /<script|<link rel="stylesheet"|src="http/,
      'self-contained: no scripts, no external resources',
    );

    const page = await openReport(html);
    assert.deepEqual(page.errors, [], 'no console errors');
    assert.deepEqual(page.plots.map((p) => p.id).sort(), [...expected].sort());
    for (const p of page.plots) {
      assert.ok(p.width > 100 && p.height > 50, `${p.id} has a size: ${p.width}x${p.height}`);
      assert.ok(p.marks > 0, `${p.id} draws marks`);
      assert.deepEqual(p.clipped, [], `${p.id}: every label whole and inside the plot`);
    }
    assert.ok(page.plots.find((p) => p.id === 'clusters-train')!.marks >= 15, 'one point per prompt');
    // Steps with times, attempts and cache; eval table; lineage back to the input data.
    for (const id of ['stats-before', 'train', 'stats-after'])
      assert.match(page.text, new RegExp(`${id}\\s+(dataset\\.stats|test\\.train)@v1`));
    assert.match(page.text, /eval\/win_rate\s+0\.6100/);
    assert.match(page.text, /model\s+s3:\/\/\S+\/runs\/\S+\/train\/model\.json/);
    assert.match(page.text, /tiny-prefs\.jsonl/);
    assert.doesNotMatch(
      page.text,
      /No training metrics|No dataset statistics|No gradient clusters|No depth allocation|No eval results|No model artifact/,
    );
  });

  test(
    'a real BPO benchmark run (shrunk): clusters, allocation and training curves render',
    { skip: noBrowser },
    async () => {
      const handle = await startPipeline(join(root, 'pipelines', 'bench', 'bpo.yaml'), [
        'size=micro',
        'sftLearningRate=0.003',
        'dpoLearningRate=0.001',
        'sftSteps=60',
        'dpoSteps=8',
        'evalPrompts=8',
        'evalSamples=1',
      ]);
      const { status, error } = await finish(handle);
      assert.equal(status.state, 'succeeded', String(error));
      const { dir, html } = await report(handle.workflowId);
      // BPOFLOW_REPORT_SCREENSHOT=docs/report.png refreshes the README's screenshot of this report.
      const page = await openReport(html, process.env.BPOFLOW_REPORT_SCREENSHOT ?? join(dir, 'screenshot.png'));
      assert.deepEqual(page.errors, [], 'no console errors');
      const ids = page.plots.map((p) => p.id);
      for (const id of [
        'loss-sft',
        'loss-bpo-train',
        'reward-margins-bpo-train',
        'reward-accuracies-bpo-train',
        'clusters-depth',
        'allocation-depth',
        'depth-histogram',
        'breadth',
      ]) {
        assert.ok(ids.includes(id), `${id} plotted (plots: ${ids.join(', ')})`);
        assert.ok(existsSync(join(dir, 'plots', `${id}.png`)), `${id}.png written`);
      }
      for (const p of page.plots) {
        assert.ok(p.marks > 0, `${p.id} draws marks`);
        assert.deepEqual(p.clipped, [], `${p.id}: every label whole and inside the plot`);
      }
      // SFT and DPO on their own charts, numbers rounded: no raw float reaches the page.
      assert.doesNotMatch(page.text, /\d\.\d{7,}/, 'no unrounded floats on the page');
      const clusters = page.plots.find((p) => p.id === 'clusters-depth')!;
      assert.ok(
        clusters.marks >= Number(status.steps.find((x) => x.id === 'depth')!.outputs!.poolPairs),
        'one point per candidate pair',
      );
      assert.match(page.text, /bpo-eval\s+eval\.generate@v1/);
      for (const id of ['stats-before', 'stats-after'])
        assert.match(page.text, new RegExp(`${id}\\s+dataset\\.stats@v1`));
    },
  );

  test(
    'a run without training: sections say there is no data, the page still loads cleanly',
    { skip: noBrowser },
    async () => {
      const handle = await startPipeline(join(root, 'test', 'fixtures', 'spec', 'stats-nocache.yaml'));
      const { status } = await finish(handle);
      assert.equal(status.state, 'succeeded');
      const { html } = await report(handle.workflowId);
      const page = await openReport(html);
      assert.deepEqual(page.errors, []);
      assert.deepEqual(page.plots.map((p) => p.id).sort(), ['breadth', 'depth-histogram', 'timeline']);
      for (const p of page.plots) assert.ok(p.marks > 0, `${p.id} draws marks`);
      for (const msg of ['No training metrics', 'No gradient clusters', 'No depth allocation', 'No eval results'])
        assert.ok(page.text.includes(msg), msg);
      const row = page.text.split('\n').find((l) => l.startsWith('stats\t'));
      assert.match(row ?? '', /\toff(\t|$)/, `the stats step has cache: false, so its cache column says off: ${row}`);
    },
  );
});
