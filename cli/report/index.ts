// `bpoflow report RUN --out DIR`: DIR/index.html (self-contained, offline) and
// DIR/plots/<plot>.png, plus DIR/report.json with the data behind them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import { ArtifactStore } from '../../store/artifacts.js';
import type { PipelineResult, RunStatus } from '../../workflows/pipeline.js';
import { connectClient, uiLink } from '../connect.js';
import { describeRun, type LiveRun } from '../run-view.js';
import { collectReportData, type ReportData } from './data.js';
import { buildCharts, renderChart, type RenderedChart } from './charts.js';
import { renderHtml } from './html.js';

export { collectReportData, buildCharts, renderChart, renderHtml };
export type { ReportData };

/** The run's status: the workflow's query, or for a closed run no worker can answer, its result. */
async function loadRun(client: Client, runId: string): Promise<LiveRun> {
  try {
    return await describeRun(client, runId);
  } catch (err) {
    const handle = client.workflow.getHandle(runId);
    const description = await handle.describe();
    if (description.status.name !== 'COMPLETED') throw err;
    const result = (await handle.result()) as PipelineResult;
    const status: RunStatus = {
      runId,
      pipeline: String(
        description.typedSearchAttributes?.getAll?.().find((p) => p.key.name === 'BpoflowPipeline')?.value ??
          description.type,
      ),
      specHash: '',
      state: 'succeeded',
      startedAt: description.startTime.getTime(),
      endedAt: description.closeTime?.getTime(),
      steps: result.steps,
      outputs: result.outputs,
    };
    return { ...status, temporalStatus: description.status.name, source: 'history' };
  }
}

/** Renders a report from already-collected data into `outDir`. */
export async function writeReport(
  data: ReportData,
  outDir: string,
): Promise<{ html: string; pngs: string[]; charts: RenderedChart[] }> {
  const dir = resolve(outDir);
  mkdirSync(join(dir, 'plots'), { recursive: true });
  const charts: RenderedChart[] = [];
  for (const chart of buildCharts(data)) charts.push(await renderChart(chart));
  const pngs = charts.map((c) => {
    const path = join(dir, 'plots', `${c.id}.png`);
    writeFileSync(path, c.png);
    return path;
  });
  const html = join(dir, 'index.html');
  writeFileSync(html, renderHtml(data, charts));
  writeFileSync(join(dir, 'report.json'), JSON.stringify(data, null, 2) + '\n');
  return { html, pngs, charts };
}

export async function writeRunReport(
  runId: string,
  outDir: string,
  deps: { client?: Client; store?: ArtifactStore } = {},
): Promise<{ html: string; pngs: string[] }> {
  const client = deps.client ?? (await connectClient());
  const store = deps.store ?? ArtifactStore.fromEnv();
  const run = await loadRun(client, runId);
  const data = await collectReportData(run, store, { ui: uiLink(runId) });
  const { html, pngs } = await writeReport(data, outDir);
  return { html, pngs };
}
