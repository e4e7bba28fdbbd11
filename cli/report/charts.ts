// The report's plots: Vega-Lite specs built from ReportData, rendered offline
// in Node to SVG (vega's headless view) and to PNG (resvg). No browser, no network.
import type { TopLevelSpec } from 'vega-lite';
import type { ReportData } from './data.js';

export type Section = 'steps' | 'training' | 'balance' | 'clusters' | 'allocation';

export interface Chart {
  /** Stable id: the PNG's file name and the HTML figure's data-plot. */
  id: string;
  section: Section;
  title: string;
  spec: TopLevelSpec;
}

export interface RenderedChart extends Chart {
  svg: string;
  png: Uint8Array;
}

const WIDTH = 560;
const HEIGHT = 260;
// labelLimit 0: vega never cuts a label short; long prompts are shortened by `short` (48 characters) instead.
const CONFIG = {
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, labelLimit: 0 },
  legend: { labelLimit: 0 },
  title: { fontSize: 14 },
};

const base = (title: string | { text: string; subtitle?: string }, extra: Record<string, unknown> = {}) => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title,
  width: WIDTH,
  height: HEIGHT,
  background: 'white',
  config: CONFIG,
  ...extra,
});

/** Legends below the plot with whole labels: a right-hand legend cut long series names. */
const LEGEND = { orient: 'bottom', direction: 'horizontal' } as const;

/** The depth histograms compare the datasets the stats steps saw, which may hold different prompts. */
function promptSetNote(data: ReportData): string {
  const sets = data.stats.map((s) => `${s.stepId}: ${s.breadth} prompts`).join(', ');
  const breadths = new Set(data.stats.map((s) => s.breadth));
  return breadths.size > 1 ? `different prompt sets: ${sets}` : sets;
}

const short = (s: string, n = 48) => (s.length > n ? s.slice(0, n - 1) + '…' : s);

/** The training curves worth a plot: [id, title, metrics]. */
const CURVES: [string, string, string[]][] = [
  ['loss', 'Loss', ['loss', 'eval/loss']],
  ['reward-margins', 'Reward margins (chosen − rejected)', ['rewards/margins', 'eval/rewards/margins']],
  ['reward-accuracies', 'Reward accuracies', ['rewards/accuracies', 'eval/rewards/accuracies']],
  ['rewards', 'Rewards of chosen and rejected responses', ['rewards/chosen', 'rewards/rejected']],
  ['throughput', 'Training throughput (tokens/s)', ['tokens_per_s']],
  ['memory', 'Peak memory of the compute process (MB)', ['peak_rss_mb']],
];

const DECIDED = ['budget share', 'max depth', 'min depth', 'all its pairs'];

/** Which bound set a prompt's depth (see bpo.gradient-cluster's allocation). */
function decidedBy(
  p: ReportData['allocation'][number]['prompts'][number],
  a: ReportData['allocation'][number],
): string {
  if (p.available !== undefined && p.depth >= p.available) return 'all its pairs';
  if (a.maxDepth !== undefined && p.depth >= a.maxDepth) return 'max depth';
  if (a.minDepth !== undefined && p.depth <= a.minDepth) return 'min depth';
  return 'budget share';
}

export function buildCharts(data: ReportData): Chart[] {
  const charts: Chart[] = [];

  const timed = data.steps.filter((s) => s.startedAt !== undefined);
  if (timed.length) {
    const values = timed.map((s) => ({
      step: s.id,
      state: s.state,
      start: (s.startedAt! - data.startedAt) / 1000,
      end: Math.max(((s.endedAt ?? Date.now()) - data.startedAt) / 1000, (s.startedAt! - data.startedAt) / 1000 + 0.05),
    }));
    charts.push({
      id: 'timeline',
      section: 'steps',
      title: 'Step timeline',
      spec: base('Step timeline (seconds since the run started)', {
        height: Math.max(60, 24 * timed.length),
        data: { values },
        mark: { type: 'bar', cornerRadius: 2 },
        encoding: {
          y: { field: 'step', type: 'nominal', sort: null, title: null },
          x: { field: 'start', type: 'quantitative', title: 'seconds' },
          x2: { field: 'end' },
          color: {
            field: 'state',
            type: 'nominal',
            scale: {
              domain: ['succeeded', 'cached', 'running', 'failed', 'cancelled', 'skipped'],
              range: ['#4c9a2a', '#7aa6c2', '#f0a202', '#c0392b', '#888', '#bbb'],
            },
          },
        },
      }) as TopLevelSpec,
    });
  }

  // One chart per training step and curve: an SFT loss (0–6 over 1000 steps) and a DPO loss
  // (about 0.5 over 60) on one axis would flatten the DPO curve into a corner.
  const trainers = [...new Set(data.curves.map((c) => c.stepId))];
  for (const stepId of trainers) {
    const uses = data.steps.find((s) => s.id === stepId)?.uses;
    for (const [id, title, metrics] of CURVES) {
      const points = data.curves.filter((c) => c.stepId === stepId && metrics.includes(c.metric));
      if (!points.length) continue;
      const series = new Set(points.map((p) => p.metric));
      const perSeries = points.length / series.size;
      charts.push({
        id: `${id}-${stepId}`,
        section: 'training',
        title: `${title}: ${stepId}`,
        spec: base(`${title}: ${stepId}${uses ? ` (${uses})` : ''}`, {
          data: { values: points },
          // Straight segments between the measured points (a spline invents values between them),
          // and the points themselves while they are few enough to see.
          mark: { type: 'line', point: perSeries <= 60 },
          encoding: {
            x: { field: 'step', type: 'quantitative', title: 'training step', axis: { tickMinStep: 1, format: 'd' } },
            y: {
              field: 'value',
              type: 'quantitative',
              title: id === 'rewards' ? 'reward' : metrics[0],
              scale: { zero: false },
            },
            color: { field: 'metric', type: 'nominal', title: null, legend: series.size > 1 ? LEGEND : null },
          },
        }) as TopLevelSpec,
      });
    }
  }

  if (data.stats.length) {
    const depth = data.stats.flatMap((s) =>
      Object.entries(s.depthHistogram).map(([d, n]) => ({ stats: s.stepId, depth: Number(d), prompts: n })),
    );
    // Both balance charts put one bar per dataset.stats step side by side, in step order.
    const stepOrder = data.stats.map((s) => s.stepId);
    const byStatsStep = {
      xOffset: { field: 'stats', type: 'nominal', sort: stepOrder },
      color: { field: 'stats', type: 'nominal', title: 'dataset.stats step', sort: stepOrder, legend: LEGEND },
    } as const;
    charts.push({
      id: 'depth-histogram',
      section: 'balance',
      title: 'Depth: prompts by number of pairs',
      spec: base(
        { text: 'Depth histogram (prompts with N pairs)', subtitle: promptSetNote(data) },
        {
          data: { values: depth },
          mark: 'bar',
          encoding: {
            x: { field: 'depth', type: 'ordinal', title: 'pairs per prompt' },
            y: { field: 'prompts', type: 'quantitative', title: 'prompts' },
            ...byStatsStep,
          },
        },
      ) as TopLevelSpec,
    });
    const breadth = data.stats.flatMap((s) => [
      { stats: s.stepId, measure: 'breadth (unique prompts)', value: s.breadth },
      { stats: s.stepId, measure: 'pairs', value: s.pairs },
    ]);
    charts.push({
      id: 'breadth',
      section: 'balance',
      title: 'Breadth and size',
      spec: base('Breadth (unique prompts) and pairs', {
        data: { values: breadth },
        mark: 'bar',
        encoding: {
          x: { field: 'measure', type: 'nominal', title: null, axis: { labelAngle: 0 } },
          y: { field: 'value', type: 'quantitative', title: 'count' },
          ...byStatsStep,
        },
      }) as TopLevelSpec,
    });
  }

  for (const c of data.clusters) {
    charts.push({
      id: `clusters-${c.stepId}`,
      section: 'clusters',
      title: `Gradient clusters (${c.stepId})`,
      spec: base(`Gradient features, 2-D projection, by cluster (${c.stepId})`, {
        height: 360,
        data: {
          values: c.points.map((p) => ({ x: p.x, y: p.y, cluster: String(p.cluster), prompt: short(p.prompt ?? '') })),
        },
        mark: { type: 'point', filled: true, size: 60, opacity: 0.8 },
        encoding: {
          x: { field: 'x', type: 'quantitative', scale: { zero: false } },
          y: { field: 'y', type: 'quantitative', scale: { zero: false } },
          color: { field: 'cluster', type: 'nominal', title: 'cluster', legend: LEGEND },
          tooltip: [{ field: 'prompt' }, { field: 'cluster' }],
        },
      }) as TopLevelSpec,
    });
  }

  for (const a of data.allocation) {
    // Depth is a budget share ∝ exp(score / T), clamped to [minDepth, maxDepth] and to the pairs a prompt
    // has: colouring by the bound that decided each depth shows why depth is not monotone in score.
    // Highest score first, numbered in that order (the numbers keep equal shortened prompts apart).
    const ranked = [...a.prompts].sort((x, y) => (y.score ?? -Infinity) - (x.score ?? -Infinity));
    const values = ranked.map((p, i) => ({
      prompt: `${i + 1}. ${short(p.prompt)}`,
      depth: p.depth,
      available: p.available ?? null,
      score: p.score ?? null,
      decided: decidedBy(p, a),
    }));
    const color = {
      field: 'decided',
      type: 'nominal',
      title: 'depth set by',
      scale: { domain: DECIDED, range: ['#4c78a8', '#e45756', '#f58518', '#9d755d'] },
      legend: LEGEND,
    };
    const perPrompt = a.prompts.length <= 40;
    charts.push({
      id: `allocation-${a.stepId}`,
      section: 'allocation',
      title: `Depth allocation (${a.stepId})`,
      spec: perPrompt
        ? (base(`Pairs allocated per prompt, by score (${a.stepId})`, {
            height: Math.max(80, 16 * a.prompts.length),
            data: { values },
            layer: [
              {
                mark: { type: 'bar', color: '#e8e8e8' },
                encoding: {
                  y: { field: 'prompt', type: 'nominal', sort: null, title: 'prompts, highest score first' },
                  x: { field: 'available', type: 'quantitative', title: 'pairs (grey: candidates the prompt has)' },
                },
              },
              {
                mark: 'bar',
                encoding: {
                  y: { field: 'prompt', type: 'nominal', sort: null },
                  x: { field: 'depth', type: 'quantitative' },
                  color,
                },
              },
            ],
          }) as TopLevelSpec)
        : (base(`Pairs allocated against prompt score (${a.stepId})`, {
            data: { values },
            mark: { type: 'point', filled: true, opacity: 0.7 },
            encoding: {
              x: { field: 'score', type: 'quantitative', title: 'prompt score', scale: { zero: false } },
              y: {
                field: 'depth',
                type: 'quantitative',
                title: 'pairs allocated',
                axis: { tickMinStep: 1, format: 'd' },
              },
              color,
            },
          }) as TopLevelSpec),
    });
  }
  return charts;
}

/** Renders one chart to SVG and PNG (2× for crisp text). */
export async function renderChart(chart: Chart): Promise<RenderedChart> {
  const vega = await import('vega');
  const vl = await import('vega-lite');
  const { Resvg } = await import('@resvg/resvg-js');
  const compiled = vl.compile(chart.spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const png = new Resvg(svg, {
      fitTo: { mode: 'zoom', value: 2 },
      font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
      background: 'white',
    })
      .render()
      .asPng();
    return { ...chart, svg, png };
  } finally {
    view.finalize();
  }
}
