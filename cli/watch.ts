// `bpoflow watch RUN` and `bpoflow run --wait`: follows a run until it ends.
// On a TTY it draws the DAG's steps live with cli-progress: one line per step,
// and a progress bar for running steps that report a total (training: steps,
// steps/s, ETA, loss and reward accuracy; augmentation: prompts; the gradient
// pass: samples). Elsewhere it prints plain lines: one per state change, and
// a progress line per running step every few seconds. The final status and
// outputs come last.
import type { Client } from '@temporalio/client';
import { setTimeout as sleep } from 'node:timers/promises';
import cliProgress from 'cli-progress';
import {
  describeRun,
  formatDuration,
  metricsText,
  renderSteps,
  STATE_ICON,
  stepLine,
  telemetryText,
  type DescribeOptions,
  type LiveRun,
  type LiveStep,
} from './run-view.js';

export { metricsText };

const POLL_MS = 500;
const PLAIN_PROGRESS_EVERY_MS = 5_000;
const RATE_WINDOW_MS = 20_000;

export interface WatchOptions {
  /** Print only the final status as JSON. */
  json?: boolean;
  out?: NodeJS.WritableStream;
  /** Force the live (TTY) or plain view; default: live when `out` is a TTY. */
  live?: boolean;
  /** The run's page in the Temporal UI, shown in the header. */
  link?: string;
  pollMs?: number;
}

/** Speed and ETA of a step from the progress samples seen so far. */
export class RateTracker {
  private samples: { t: number; done: number }[] = [];

  add(done: number, t = Date.now()): void {
    const last = this.samples.at(-1);
    if (last && last.done === done) return;
    this.samples.push({ t, done });
    while (this.samples.length > 2 && t - this.samples[0]!.t > RATE_WINDOW_MS) this.samples.shift();
  }

  /** Units per second over the recent window, or from the step's start when only one sample exists. */
  rate(startedAt?: number, now = Date.now()): number | undefined {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last) return undefined;
    if (last.t > first.t && last.done > first.done) return ((last.done - first.done) * 1000) / (last.t - first.t);
    if (startedAt && now > startedAt && last.done > 0) return (last.done * 1000) / (now - startedAt);
    return undefined;
  }
}

/** `12/40 steps  3.1 steps/s  ETA 9.0s  loss 0.4123  acc 0.812  tok/s 410  wasm 312MB` (the parts that are known). */
export function progressText(s: LiveStep, rate: number | undefined): string {
  const p = s.progress;
  if (!p) return '';
  const unit = p.unit ?? '';
  const parts: string[] = [];
  if (p.done !== undefined)
    parts.push(p.total ? `${p.done}/${p.total}${unit ? ' ' + unit : ''}` : `${p.done}${unit ? ' ' + unit : ''}`);
  if (rate !== undefined) parts.push(`${rate >= 10 ? rate.toFixed(0) : rate.toFixed(2)} ${unit || 'it'}/s`);
  if (rate && p.total && p.done !== undefined)
    parts.push(`ETA ${formatDuration(Math.max(0, Math.round(((p.total - p.done) / rate) * 1000)))}`);
  const m = metricsText(p.metrics ?? s.metrics);
  if (m) parts.push(m);
  const t = telemetryText(p.telemetry);
  if (t) parts.push(t);
  if (p.message) parts.push(p.message);
  return parts.join('  ');
}

const BAR_SIZE = 24;

function liveLine(s: LiveStep, rate: number | undefined, barOptions: cliProgress.Options, now = Date.now()): string {
  const time = s.startedAt ? formatDuration((s.endedAt ?? now) - s.startedAt) : '';
  const attempt = Math.max(s.attempts, s.currentAttempt ?? 0);
  const head = `${STATE_ICON[s.state] ?? '?'} ${s.id.padEnd(16)} ${s.state.padEnd(9)} ${s.uses.padEnd(20)} ${time.padStart(6)}${attempt > 1 ? ` attempt ${attempt}` : ''}`;
  if (s.state === 'running' && s.progress?.total) {
    const ratio = Math.min(1, Math.max(0, (s.progress.done ?? 0) / s.progress.total));
    const filled = Math.round(ratio * BAR_SIZE);
    const bar =
      (barOptions.barCompleteChar ?? '█').repeat(filled) +
      (barOptions.barIncompleteChar ?? '░').repeat(BAR_SIZE - filled);
    return `${head}  [${bar}] ${String(Math.floor(ratio * 100)).padStart(3)}%  ${progressText(s, rate)}`;
  }
  if (s.state === 'running')
    return `${head}  ${progressText(s, rate)}${s.lastFailure ? `  last failure: ${s.lastFailure}` : ''}`;
  if (s.state === 'failed' && s.error) return `${head}  ${s.error.type}: ${s.error.message}`;
  const m = [metricsText(s.metrics), telemetryText(s.telemetry)].filter(Boolean).join('  ');
  return m ? `${head}  ${m}` : head;
}

/** After the status query timed out (no worker answered), read the history for a while, not querying on each poll. */
const QUERY_BACKOFF_MS = 15_000;

/** describeRun for a loop: remembers when the query last went unanswered. */
function poller(client: Client, runId: string): () => Promise<LiveRun> {
  let skipQueryUntil = 0;
  return async () => {
    const opts: DescribeOptions = { query: Date.now() >= skipQueryUntil };
    const run = await describeRun(client, runId, opts);
    if (opts.query && run.temporalStatus === 'RUNNING' && run.source === 'history')
      skipQueryUntil = Date.now() + QUERY_BACKOFF_MS;
    return run;
  };
}

export async function watchRun(client: Client, runId: string, opts: WatchOptions = {}): Promise<LiveRun> {
  const out = opts.out ?? process.stdout;
  const live = !opts.json && (opts.live ?? Boolean((out as NodeJS.WriteStream).isTTY));
  return live ? watchLive(client, runId, out, opts) : watchPlain(client, runId, out, opts);
}

async function watchPlain(
  client: Client,
  runId: string,
  out: NodeJS.WritableStream,
  opts: WatchOptions,
): Promise<LiveRun> {
  const seen = new Map<string, string>();
  const rates = new Map<string, RateTracker>();
  const lastProgress = new Map<string, number>();
  const warned = new Set<string>();
  const describe = poller(client, runId);
  for (;;) {
    const run = await describe();
    const now = Date.now();
    for (const w of run.warnings ?? []) {
      // Once per distinct warning (its "last poll … ago" part changes every poll).
      const key = w.replace(/\(.*?\)/g, '');
      if (!warned.has(key) && !opts.json) out.write(`warning: ${w}\n`);
      warned.add(key);
    }
    for (const s of run.steps) {
      const key = `${s.state}:${s.currentAttempt ?? s.attempts}`;
      if (seen.get(s.id) !== key && s.state !== 'pending') {
        seen.set(s.id, key);
        lastProgress.set(s.id, now);
        if (!opts.json) out.write(stepLine(s) + '\n');
      }
      if (s.state === 'running' && s.progress?.done !== undefined) {
        const tracker = rates.get(s.id) ?? new RateTracker();
        rates.set(s.id, tracker);
        tracker.add(s.progress.done, now);
        if (!opts.json && now - (lastProgress.get(s.id) ?? 0) >= PLAIN_PROGRESS_EVERY_MS) {
          lastProgress.set(s.id, now);
          out.write(`  ${s.id}: ${progressText(s, tracker.rate(s.startedAt, now))}\n`);
        }
      }
    }
    if (run.state !== 'running' && run.temporalStatus !== 'RUNNING') {
      out.write(opts.json ? JSON.stringify(run) + '\n' : renderSteps(run) + '\n');
      return run;
    }
    await sleep(opts.pollMs ?? POLL_MS);
  }
}

async function watchLive(
  client: Client,
  runId: string,
  out: NodeJS.WritableStream,
  opts: WatchOptions,
): Promise<LiveRun> {
  const barOptions: cliProgress.Options = { barsize: BAR_SIZE, barCompleteChar: '█', barIncompleteChar: '░' };
  const describe = poller(client, runId);
  let run = await describe();
  const rates = new Map<string, RateTracker>();
  const started = run.startedAt;
  const multibar = new cliProgress.MultiBar({
    stream: out as NodeJS.WritableStream,
    fps: 5,
    hideCursor: true,
    clearOnComplete: false,
    gracefulExit: true,
    linewrap: false,
    ...barOptions,
  });
  const header = (): string => {
    const elapsed = formatDuration((run.endedAt ?? Date.now()) - started);
    const counts = ['succeeded', 'cached', 'running', 'pending', 'failed']
      .map((st) => [st, run.steps.filter((s) => s.state === st).length] as const)
      .filter(([, n]) => n > 0);
    return `run ${run.runId}  ${run.state}  ${elapsed}  (${counts.map(([st, n]) => `${n} ${st}`).join(', ')})`;
  };
  multibar.create(1, 0, {}, { format: () => header() });
  if (opts.link) multibar.create(1, 0, {}, { format: () => `ui  ${opts.link}` });
  multibar.create(
    1,
    0,
    {},
    { format: () => (run.warnings?.length ? run.warnings.map((w) => `warning: ${w}`).join('  |  ') : '') },
  );
  const bars = new Map<string, cliProgress.SingleBar>();
  for (const s of run.steps) {
    bars.set(
      s.id,
      multibar.create(
        1,
        0,
        {},
        {
          format: () => {
            const step = run.steps.find((x) => x.id === s.id)!;
            return '  ' + liveLine(step, rates.get(s.id)?.rate(step.startedAt), barOptions);
          },
        },
      ),
    );
  }
  try {
    for (;;) {
      const now = Date.now();
      for (const s of run.steps) {
        if (s.state === 'running' && s.progress?.done !== undefined) {
          const tracker = rates.get(s.id) ?? new RateTracker();
          rates.set(s.id, tracker);
          tracker.add(s.progress.done, now);
        }
        const bar = bars.get(s.id);
        if (s.progress?.total) bar?.setTotal(s.progress.total);
        bar?.update(s.progress?.done ?? 0);
      }
      if (run.state !== 'running' && run.temporalStatus !== 'RUNNING') break;
      await sleep(opts.pollMs ?? POLL_MS);
      run = await describe();
    }
  } finally {
    multibar.stop();
  }
  const tail = [
    ...(run.error ? [`error: ${run.error}`] : []),
    ...(run.outputs ? Object.entries(run.outputs).map(([k, v]) => `output ${k} = ${String(v)}`) : []),
  ];
  if (tail.length) out.write(tail.join('\n') + '\n');
  return run;
}
