// Live metrics for step kinds that train or evaluate. A kind opens a writer,
// logs one row per training/eval step, and closes it:
//
//   const metrics = MetricsWriter.open(ctx, { total: steps, unit: 'steps' });
//   for (let step = 1; step <= steps; step++) {
//     ...
//     metrics.log(step, { loss, 'rewards/margins': m, 'rewards/accuracies': acc });
//   }
//   const uri = await metrics.close();   // -> s3://<bucket>/runs/<run>/<step>/metrics.jsonl
//   return { metrics: uri, ...otherOutputs };
//
// Rows are kept in memory; the whole JSONL is rewritten to the store every
// `flushEveryMs` (S3 has no append) and on close. Each row also goes out as
// step progress ({done: step, total, unit, metrics: latest}), so `bpoflow watch`
// and `bpoflow status` show the latest values while the step runs, and the
// run's `status` query keeps them in the step's `metrics` once it ends.
// Names follow TRL's: `loss`, `rewards/margins`, `rewards/accuracies`,
// `rewards/chosen`, `rewards/rejected`, `eval/...`, `learning_rate`. Training
// kinds add telemetry (TELEMETRY_METRICS): throughput and the compute process's
// peak memory; the manifest's attributes name the tensor backend.
import type { StepContext } from './step-kind.js';

/** One line of metrics.jsonl. `step` is the training step (or eval round); `ts` is epoch ms. */
export interface MetricsRow {
  step: number;
  ts: number;
  [metric: string]: number;
}

export interface MetricsWriterOptions {
  /** File name under the step's folder. Default `metrics.jsonl` (with a shard suffix when sharded). */
  name?: string;
  /** How often the JSONL is rewritten while rows keep coming. Default 10 s. */
  flushEveryMs?: number;
  /** Progress denominator (e.g. total training steps), reported with each row. */
  total?: number;
  /** Progress unit. Default `steps`. */
  unit?: string;
  /** The tensor backend the rows were computed on, kept in the manifest's attributes. */
  backend?: string;
}

/** Metrics that measure the machine, not the model: they differ between otherwise identical runs. */
export const TELEMETRY_METRICS = ['tokens_per_s', 'sequences_per_s', 'peak_rss_mb', 'gpu_memory_mb'] as const;

/** What a progress line in the log carries: the headline metrics and the throughput. */
const PROGRESS_FIELDS = [
  'loss',
  'rewards/accuracies',
  'rewards/margins',
  'learning_rate',
  'tokens_per_s',
  'peak_rss_mb',
];

const pick = (values: Record<string, number>, keys: string[]) =>
  Object.fromEntries(keys.filter((k) => k in values).map((k) => [k, values[k]!]));

type WriterContext = Pick<StepContext, 'runId' | 'stepId' | 'attempt' | 'store' | 'progress' | 'outputUri' | 'log'>;

export class MetricsWriter {
  readonly uri: string;
  private readonly rows: MetricsRow[] = [];
  private latestValues: Record<string, number> = {};
  private lastFlush = Date.now();
  private flushed = 0;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private lastTenth = 0;
  private lastProgressLine = Date.now();

  private constructor(
    private readonly ctx: WriterContext,
    private readonly opts: MetricsWriterOptions,
  ) {
    this.uri = ctx.outputUri(opts.name ?? 'metrics.jsonl');
  }

  static open(ctx: WriterContext, opts: MetricsWriterOptions = {}): MetricsWriter {
    return new MetricsWriter(ctx, opts);
  }

  /** Records the metrics of one step; non-finite values are dropped. Cheap: no I/O unless a flush is due. */
  log(step: number, values: Record<string, number>): void {
    if (this.closed) throw new Error('MetricsWriter.log after close');
    const row: MetricsRow = { step, ts: Date.now() };
    for (const [k, v] of Object.entries(values)) if (typeof v === 'number' && Number.isFinite(v)) row[k] = v;
    this.rows.push(row);
    const { step: _s, ts: _t, ...metrics } = row;
    this.latestValues = { ...this.latestValues, ...metrics };
    this.ctx.progress({
      done: step,
      ...(this.opts.total ? { total: this.opts.total } : {}),
      unit: this.opts.unit ?? 'steps',
      metrics: this.latestValues,
    });
    if (this.progressLineDue(step))
      this.ctx.log.info('progress', {
        trainStep: step,
        ...(this.opts.total ? { of: this.opts.total } : {}),
        ...pick(this.latestValues, PROGRESS_FIELDS),
      });
    if (Date.now() - this.lastFlush >= (this.opts.flushEveryMs ?? 10_000)) void this.flush();
  }

  /** A progress line in the step's log (`bpoflow logs`) at every tenth of the total, else every 30 s. */
  private progressLineDue(step: number): boolean {
    const total = this.opts.total;
    const tenth = total ? Math.floor((step * 10) / total) : undefined;
    const due =
      tenth !== undefined ? tenth > this.lastTenth || step === total : Date.now() - this.lastProgressLine >= 30_000;
    if (!due) return false;
    if (tenth !== undefined) this.lastTenth = tenth;
    this.lastProgressLine = Date.now();
    return true;
  }

  /** The latest value of every metric seen so far. */
  latest(): Record<string, number> {
    return { ...this.latestValues };
  }

  /** Rewrites the JSONL with every row so far (serialized with other flushes); a failed periodic flush is logged. */
  flush(): Promise<void> {
    this.lastFlush = Date.now();
    this.chain = this.chain
      .then(() => this.write())
      .catch((err) => this.ctx.log.warn('metrics flush failed', { uri: this.uri, error: String(err) }));
    return this.chain;
  }

  /** Final flush; returns the artifact's URI. Throws if the final write fails. */
  async close(): Promise<string> {
    this.closed = true;
    await this.chain;
    await this.write(true);
    return this.uri;
  }

  private async write(force = false): Promise<void> {
    const count = this.rows.length;
    if (!force && count === this.flushed) return;
    const text = this.rows
      .slice(0, count)
      .map((r) => JSON.stringify(r) + '\n')
      .join('');
    await this.ctx.store.put(this.uri, Buffer.from(text, 'utf8'), {
      kind: 'metrics',
      mediaType: 'application/x-ndjson',
      producer: { runId: this.ctx.runId, stepId: this.ctx.stepId, attempt: this.ctx.attempt },
      attributes: {
        rows: count,
        latest: this.latestValues,
        ...(this.opts.backend ? { backend: this.opts.backend } : {}),
      },
    });
    this.flushed = count;
  }
}

/** Parses a metrics.jsonl text (blank or malformed lines are skipped). */
export function parseMetrics(text: string): MetricsRow[] {
  const rows: MetricsRow[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as MetricsRow;
      if (r && typeof r === 'object' && typeof r.step === 'number') rows.push(r);
    } catch {
      // a torn line: skip it
    }
  }
  return rows;
}
