// The report page: one self-contained HTML file (inline CSS, plots as inline
// SVG, no scripts, no network), so it opens offline from a folder or a mail.
import type { LineageNode } from '../../store/artifacts.js';
import type { ReportData } from './data.js';
import type { RenderedChart, Section } from './charts.js';
import { formatDuration, metricsText, telemetryText } from '../run-view.js';
import { forPeople } from '../output.js';

export const esc = (s: unknown): string =>
  String(s ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

const time = (ms?: number) => (ms === undefined ? '' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19));
// Numbers for people, as the CLI prints them (report.json keeps them exact).
const num = forPeople;

function figures(charts: RenderedChart[], section: Section): string {
  return charts
    .filter((c) => c.section === section)
    .map(
      (c) =>
        `<figure class="plot" id="plot-${esc(c.id)}" data-plot="${esc(c.id)}">\n${c.svg}\n<figcaption>${esc(c.title)} · <a href="plots/${esc(c.id)}.png">PNG</a></figcaption>\n</figure>`,
    )
    .join('\n');
}

const empty = (what: string) => `<p class="empty">${esc(what)}</p>`;

function stepsTable(data: ReportData): string {
  if (!data.steps.length) return empty('This run has no steps.');
  const rows = data.steps.map((s) => {
    const duration = s.startedAt !== undefined ? formatDuration((s.endedAt ?? Date.now()) - s.startedAt) : '';
    const ran = s.state === 'succeeded' || s.state === 'failed';
    const cache = s.cached
      ? `hit${s.reusedFrom ? ` (from ${esc(s.reusedFrom)})` : ''}`
      : ran
        ? s.cacheEnabled
          ? 'miss'
          : 'off'
        : '';
    return `<tr class="state-${esc(s.state)}"><td>${esc(s.id)}</td><td><code>${esc(s.uses)}</code></td><td>${esc(s.queue)}</td><td>${esc(s.state)}</td><td>${esc(time(s.startedAt))}</td><td>${esc(time(s.endedAt))}</td><td class="n">${esc(duration)}</td><td class="n">${s.attempts}</td><td>${cache}</td><td>${esc([metricsText(s.metrics), telemetryText(s.telemetry)].filter(Boolean).join('  '))}${s.error ? `<div class="error">${esc(s.error)}</div>` : ''}</td></tr>`;
  });
  return `<table class="steps"><thead><tr><th>step</th><th>kind</th><th>queue</th><th>state</th><th>started</th><th>ended</th><th>time</th><th>attempts</th><th>cache</th><th>metrics / error</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

function statsTable(data: ReportData): string {
  const rows = data.stats.map((s) => {
    const depths = Object.entries(s.depthHistogram).map(([d, n]) => [Number(d), n] as const);
    const prompts = depths.reduce((a, [, n]) => a + n, 0);
    const maxDepth = depths.reduce((a, [d]) => Math.max(a, d), 0);
    return `<tr><td>${esc(s.stepId)}</td><td class="n">${s.breadth}</td><td class="n">${s.pairs}</td><td class="n">${prompts ? (s.pairs / prompts).toFixed(2) : ''}</td><td class="n">${maxDepth}</td></tr>`;
  });
  return `<table><thead><tr><th>dataset.stats step</th><th>breadth (prompts)</th><th>pairs</th><th>mean depth</th><th>max depth</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function evalTable(data: ReportData): string {
  if (!data.eval.length)
    return empty('No eval results in this run (no eval.* step, nor any step output named "eval").');
  const rows = data.eval.map(
    (e) =>
      `<tr><td>${esc(e.stepId)}</td><td><code>${esc(e.metric)}</code></td><td class="n">${esc(num(e.value))}</td></tr>`,
  );
  return `<table class="eval"><thead><tr><th>step</th><th>metric</th><th>value</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function lineageTree(node: LineageNode, depth = 0): string {
  const m = node.manifest;
  const producer = m?.producer
    ? ` · made by <code>${esc(m.producer.runId)}/${esc(m.producer.stepId)}</code>${m.producer.attempt ? ` attempt ${m.producer.attempt}` : ''}`
    : '';
  const flags = [node.missing ? 'missing' : '', node.changed ? 'changed since' : '', node.cycle ? 'shown above' : '']
    .filter(Boolean)
    .join(', ');
  const label = `<span class="kind kind-${esc(node.kind)}">${esc(node.kind)}</span> <code>${esc(node.uri)}</code> <span class="sha">${esc(node.sha256.slice(0, 12))}</span>${producer}${flags ? ` <em>(${esc(flags)})</em>` : ''}`;
  const kids =
    depth < 12 && node.inputs.length ? `<ul>${node.inputs.map((i) => lineageTree(i, depth + 1)).join('')}</ul>` : '';
  return `<li>${label}${kids}</li>`;
}

const CSS = `
body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;color:#222;line-height:1.4;padding:0 16px}
h1{font-size:22px;margin-bottom:4px} h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
.meta{color:#555;font-size:13px} .meta code{font-size:12px}
table{border-collapse:collapse;font-size:13px;margin:8px 0} th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5} td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.state-failed td{background:#fdecea} tr.state-cached td{background:#eef5fa} .error{color:#b00020;font-size:12px}
figure.plot{display:inline-block;margin:8px 16px 16px 0;vertical-align:top} figcaption{font-size:12px;color:#555}
.empty{color:#777;font-style:italic} .problems{color:#8a5a00;font-size:12px}
ul.lineage,ul.lineage ul{list-style:none;padding-left:18px;border-left:1px dotted #bbb;font-size:12px} ul.lineage{border:none;padding-left:0}
.kind{display:inline-block;min-width:56px;padding:0 4px;border-radius:3px;background:#eee;font-size:11px;text-align:center}
.kind-model{background:#d7ecd2} .kind-dataset{background:#dde8f6} .kind-metrics{background:#f6ecd5} .sha{color:#888;font-family:monospace}
code{font-size:12px}
`;

export function renderHtml(data: ReportData, charts: RenderedChart[]): string {
  const has = (s: Section) => charts.some((c) => c.section === s);
  const duration = data.endedAt ? formatDuration(data.endedAt - data.startedAt) : 'still running';
  const outputs = Object.entries(data.outputs ?? {});
  const sections = [
    `<section id="steps"><h2>Steps</h2>${stepsTable(data)}${figures(charts, 'steps')}</section>`,
    `<section id="training"><h2>Training curves</h2>${has('training') ? figures(charts, 'training') : empty('No training metrics in this run (no model.sft or bpo.train step, nor any step output named "metrics").')}</section>`,
    `<section id="balance"><h2>Breadth and depth, before and after balancing</h2>${
      data.stats.length
        ? `${statsTable(data)}${figures(charts, 'balance')}`
        : empty('No dataset statistics in this run (no dataset.stats step).')
    }</section>`,
    `<section id="clusters"><h2>Gradient clusters</h2>${has('clusters') ? figures(charts, 'clusters') : empty('No gradient clusters in this run (no bpo.gradient-cluster step, nor any step output named "clusters").')}</section>`,
    `<section id="allocation"><h2>Depth allocation per prompt</h2>${has('allocation') ? figures(charts, 'allocation') : empty('No depth allocation in this run (no bpo.gradient-cluster step, nor any step output named "allocation").')}</section>`,
    `<section id="eval"><h2>Evaluation</h2>${evalTable(data)}</section>`,
    `<section id="lineage"><h2>Lineage of the final model</h2>${
      data.lineage.length
        ? data.lineage.map((n) => `<ul class="lineage">${lineageTree(n)}</ul>`).join('')
        : empty('No model artifact in this run, and no artifact outputs to trace.')
    }</section>`,
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>bpoflow report: ${esc(data.runId)}</title>
<style>${CSS}</style></head>
<body>
<h1>Run <code>${esc(data.runId)}</code></h1>
<p class="meta">pipeline <b>${esc(data.pipeline)}</b> · state <b>${esc(data.state)}</b> · started ${esc(time(data.startedAt))} · ${esc(duration)}${
    data.ui ? ` · <a href="${esc(data.ui)}">Temporal UI</a>` : ''
  } · report generated ${esc(data.generatedAt)}</p>
${data.error ? `<p class="error">${esc(data.error)}</p>` : ''}
${outputs.length ? `<p class="meta">outputs: ${outputs.map(([k, v]) => `<b>${esc(k)}</b> = <code>${esc(typeof v === 'number' ? num(v) : v)}</code>`).join(' · ')}</p>` : ''}
${sections.join('\n')}
${data.problems.length ? `<section id="problems"><h2>Unreadable artifacts</h2><ul class="problems">${data.problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul></section>` : ''}
</body></html>
`;
}
