// What a run report shows, gathered from the run's status and its artifacts.
// Every part is optional: a run without training has no curves, one without
// a BPO step no clusters; the report says so instead of failing.
//
// Artifact formats the report understands (found in any step's outputs):
//   metrics   `*metrics*.jsonl` (activities/metrics.ts): {step, ts, loss, "rewards/margins", ...} per line;
//             also any such file right in runs/<run>/<step>/ (e.g. of a step that failed).
//   stats     outputs whose kind marks them `report: stats` (dataset.stats): {breadth, pairs, depthHistogram}.
//   clusters  outputs named `clusters`: clusters.json = {points: [{x, y, cluster, prompt?}]}
//             (a 2-D projection of the per-prompt gradient features, colored by cluster).
//   allocation outputs named `allocation`: allocation.json = {prompts: [{prompt, depth, score?}]}.
//   eval      outputs named `eval`: a JSON object {metric: number}; and numeric outputs whose kind marks
//             them `report: metric` (the eval.* kinds).
// What a kind marks is in its catalog entry (activities/kinds/: each output's `report`).
//   lineage   ArtifactStore.lineage of outputs whose manifest kind is `model` (else the pipeline's artifact outputs).
import type { ArtifactStore, LineageNode } from '../../store/artifacts.js';
import type { StepState } from '../../workflows/pipeline.js';
import type { LiveRun } from '../run-view.js';
import type { StepTelemetry } from '../../activities/contract.js';
import { parseMetrics } from '../../activities/metrics.js';
import { catalogDirsFromEnv, defaultCatalogDir, loadCatalog, type Catalog } from '../../spec/catalog.js';

export interface ReportStep {
  id: string;
  uses: string;
  queue: string;
  state: StepState;
  attempts: number;
  startedAt?: number;
  endedAt?: number;
  cached: boolean;
  /** False when the step had caching turned off (`cache: false`). */
  cacheEnabled: boolean;
  reusedFrom?: string;
  error?: string;
  metrics?: Record<string, number>;
  /** Tensor backend and peak memory of the step's compute process. */
  telemetry?: StepTelemetry;
  outputs?: Record<string, string | number | boolean | null>;
}

export interface CurvePoint {
  stepId: string;
  step: number;
  metric: string;
  value: number;
}

export interface StatsEntry {
  stepId: string;
  breadth: number;
  pairs: number;
  depthHistogram: Record<string, number>;
}

export interface ClusterPoint {
  x: number;
  y: number;
  cluster: number | string;
  prompt?: string;
}

export interface AllocationRow {
  prompt: string;
  depth: number;
  score?: number;
  /** Candidate pairs the prompt had: its depth can't exceed them. */
  available?: number;
}

export interface EvalRow {
  stepId: string;
  metric: string;
  value: number;
}

export interface ReportData {
  runId: string;
  pipeline: string;
  state: string;
  startedAt: number;
  endedAt?: number;
  error?: string;
  generatedAt: string;
  ui?: string;
  outputs?: Record<string, unknown>;
  steps: ReportStep[];
  curves: CurvePoint[];
  stats: StatsEntry[];
  clusters: { stepId: string; uri: string; points: ClusterPoint[] }[];
  allocation: { stepId: string; uri: string; minDepth?: number; maxDepth?: number; prompts: AllocationRow[] }[];
  eval: EvalRow[];
  lineage: LineageNode[];
  /** Artifacts that could not be read, and why (shown in the report, never fatal). */
  problems: string[];
}

/**
 * A prompt as a reader recognises it: its last human turn. HH-RLHF prompts are whole
 * dialogues ("\n\nHuman: … \n\nAssistant: …"), so their first words are all "Human:";
 * conversational prompts are message lists.
 */
export function promptText(p: unknown): string | undefined {
  if (p === undefined || p === null) return undefined;
  if (Array.isArray(p)) {
    const user = [...p]
      .reverse()
      .find((m) => m && typeof m === 'object' && (m as { role?: unknown }).role === 'user') as
      { content?: unknown } | undefined;
    return user && typeof user.content === 'string' ? user.content.trim() : JSON.stringify(p);
  }
  if (typeof p !== 'string') return JSON.stringify(p);
  const turns = p.split(/\n\nHuman:\s*/);
  if (turns.length < 2) return p;
  return turns[turns.length - 1]!.split(/\n\nAssistant:/)[0]!.trim();
}

const isUri = (v: unknown): v is string => typeof v === 'string' && v.startsWith('s3://');
const METRICS_FILE = /(^|\/)[^/]*metrics[^/]*\.jsonl(\.shard-\d+)?$/;

/** The output names a step's kind marks with `role`; none for a kind this catalog lacks. */
function outputsFor(catalog: Catalog, uses: string, role: 'stats' | 'metric'): Set<string> {
  const [kind = '', version = ''] = uses.split('@');
  const outputs = catalog.get(kind, version)?.outputs ?? {};
  return new Set(Object.keys(outputs).filter((name) => outputs[name]?.report === role));
}

export async function collectReportData(
  run: LiveRun,
  store: ArtifactStore,
  opts: { ui?: string; catalog?: Catalog } = {},
): Promise<ReportData> {
  const catalog = opts.catalog ?? loadCatalog(defaultCatalogDir(), catalogDirsFromEnv());
  const problems: string[] = [];
  const attempt = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  };

  const steps: ReportStep[] = run.steps.map((s) => ({
    id: s.id,
    uses: s.uses,
    queue: s.queue,
    state: s.state,
    attempts: Math.max(s.attempts, s.currentAttempt ?? 0),
    startedAt: s.startedAt,
    endedAt: s.endedAt,
    cached: s.state === 'cached',
    cacheEnabled: s.cache !== false,
    reusedFrom: s.reusedFrom,
    error: s.error ? `${s.error.type}: ${s.error.message}` : undefined,
    metrics: s.metrics ?? s.progress?.metrics,
    telemetry: s.telemetry ?? s.progress?.telemetry,
    outputs: s.outputs,
  }));

  // Training curves: metrics JSONL named by outputs, or left under the run's step folders.
  const metricsFiles = new Map<string, string>();
  for (const s of steps)
    for (const v of Object.values(s.outputs ?? {})) if (isUri(v) && METRICS_FILE.test(v)) metricsFiles.set(v, s.id);
  const listed = (await attempt(`listing runs/${run.runId}/`, () => store.list(`runs/${run.runId}/`))) ?? [];
  for (const e of listed) {
    const rest = e.key.slice(`runs/${run.runId}/`.length);
    const stepId = rest.split('/')[0]!;
    // Only files right in a step's folder: checkpoints and logs below it are not the step's curve.
    if (/^[^/]+\/[^/]*metrics[^/]*\.jsonl(\.shard-\d+)?$/.test(rest) && !metricsFiles.has(e.uri))
      metricsFiles.set(e.uri, stepId);
  }
  const curves: CurvePoint[] = [];
  for (const [uri, stepId] of metricsFiles) {
    const bytes = await attempt(`metrics ${uri}`, () => store.readBytes(uri));
    if (!bytes) continue;
    for (const row of parseMetrics(bytes.toString('utf8'))) {
      for (const [metric, value] of Object.entries(row)) {
        if (metric !== 'step' && metric !== 'ts' && typeof value === 'number' && Number.isFinite(value))
          curves.push({ stepId, step: row.step, metric, value });
      }
    }
  }

  const stats: StatsEntry[] = [];
  const clusters: ReportData['clusters'] = [];
  const allocation: ReportData['allocation'] = [];
  const evalRows: EvalRow[] = [];
  for (const s of steps) {
    const out = s.outputs ?? {};
    for (const name of outputsFor(catalog, s.uses, 'stats')) {
      const uri = out[name];
      if (!isUri(uri)) continue;
      const st = await attempt(`stats ${uri}`, () =>
        store.readJson<{ breadth: number; pairs: number; depthHistogram: Record<string, number> }>(uri),
      );
      if (st && typeof st.breadth === 'number')
        stats.push({ stepId: s.id, breadth: st.breadth, pairs: st.pairs, depthHistogram: st.depthHistogram ?? {} });
    }
    if (isUri(out.clusters)) {
      const c = await attempt(`clusters ${out.clusters}`, () =>
        store.readJson<{ points?: ClusterPoint[] }>(String(out.clusters)),
      );
      const points = (Array.isArray(c?.points) ? c.points : [])
        .filter((p) => p && Number.isFinite(p.x) && Number.isFinite(p.y))
        .map((p) => ({
          x: p.x,
          y: p.y,
          cluster: typeof p.cluster === 'number' || typeof p.cluster === 'string' ? p.cluster : '?',
          prompt: promptText(p.prompt),
        }));
      if (c && !Array.isArray(c.points))
        problems.push(`clusters ${out.clusters}: expected {points: [{x, y, cluster}]}`);
      if (points.length) clusters.push({ stepId: s.id, uri: out.clusters, points });
    }
    if (isUri(out.allocation)) {
      const a = await attempt(`allocation ${out.allocation}`, () =>
        store.readJson<{ minDepth?: number; maxDepth?: number; prompts?: AllocationRow[] }>(String(out.allocation)),
      );
      const prompts = (Array.isArray(a?.prompts) ? a.prompts : [])
        .filter((p) => p && typeof p.depth === 'number')
        .map((p) => ({
          prompt: promptText(p.prompt) ?? '',
          depth: p.depth,
          ...(typeof p.score === 'number' ? { score: p.score } : {}),
          ...(typeof p.available === 'number' ? { available: p.available } : {}),
        }));
      if (a && !Array.isArray(a.prompts))
        problems.push(`allocation ${out.allocation}: expected {prompts: [{prompt, depth}]}`);
      const bounds = {
        ...(typeof a?.minDepth === 'number' ? { minDepth: a.minDepth } : {}),
        ...(typeof a?.maxDepth === 'number' ? { maxDepth: a.maxDepth } : {}),
      };
      if (prompts.length) allocation.push({ stepId: s.id, uri: out.allocation, ...bounds, prompts });
    }
    if (isUri(out.eval)) {
      const e = await attempt(`eval ${out.eval}`, () => store.readJson<Record<string, unknown>>(String(out.eval)));
      for (const [metric, value] of Object.entries(e ?? {}))
        if (typeof value === 'number') evalRows.push({ stepId: s.id, metric, value });
    }
    // An eval step's metric outputs repeat its eval.json: each metric once per step.
    const metrics = outputsFor(catalog, s.uses, 'metric');
    for (const [metric, value] of Object.entries(out)) {
      if (
        metrics.has(metric) &&
        typeof value === 'number' &&
        !evalRows.some((r) => r.stepId === s.id && r.metric === metric)
      ) {
        evalRows.push({ stepId: s.id, metric, value });
      }
    }
  }

  // Lineage of the final model(s): artifact outputs whose manifest says `model`, else the pipeline's artifact outputs.
  const candidates = [...new Set(steps.flatMap((s) => Object.values(s.outputs ?? {}).filter(isUri)))];
  const models: string[] = [];
  for (const uri of candidates) {
    const m = await store.manifest(uri).catch(() => undefined);
    if (m?.kind === 'model') models.push(uri);
  }
  const roots = models.length ? models : Object.values(run.outputs ?? {}).filter(isUri);
  const lineage: LineageNode[] = [];
  for (const uri of [...new Set(roots)]) {
    const node = await attempt(`lineage ${uri}`, () => store.lineage(uri));
    if (node) lineage.push(node);
  }

  return {
    runId: run.runId,
    pipeline: run.pipeline,
    state: run.state,
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    error: run.error,
    generatedAt: new Date().toISOString(),
    ui: opts.ui,
    outputs: run.outputs,
    steps,
    curves,
    stats,
    clusters,
    allocation,
    eval: evalRows,
    lineage,
    problems,
  };
}
