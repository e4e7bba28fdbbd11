import type { CatalogEntry } from './catalog.js';
import { parseDuration } from './duration.js';
import type { PlanStep, RetryPolicy } from './plan.js';
import type { Finding } from './source-map.js';
import { at, type YamlPath } from './yaml-path.js';

/**
 * Defaults when neither the step nor the pipeline's `defaults` says otherwise. Three
 * attempts absorb transient infrastructure failures; BadInput/ValidationError mean the
 * data or arguments are wrong, which retrying cannot fix.
 */
export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({
  maximumAttempts: 3,
  initialIntervalMs: 1_000,
  backoffCoefficient: 2,
  maximumIntervalMs: 60_000,
  nonRetryableErrorTypes: ['BadInput', 'ValidationError'],
});
export const DEFAULT_TIMEOUT_MS = 3_600_000; // 1h
// Heartbeats come from the worker's event loop on a timer, whatever the step computes (it runs
// in a compute process of its own), so a silent activity means a dead worker: notice it in 30 s.
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 30_000;
export const DEFAULT_CACHE = true;

/** The execution settings of a plan step: what `defaults` and each step may set. */
export type StepSettings = Pick<PlanStep, 'queue' | 'retry' | 'timeoutMs' | 'heartbeatTimeoutMs' | 'cache' | 'shards'>;

type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Raw) : {});

/** A layer of settings: the pipeline's `defaults` or the step itself, and where it sits in the file. */
interface Layer {
  raw: Raw;
  path: YamlPath;
}

/**
 * Merges built-in defaults < pipeline `defaults` < step, field by field (a step that
 * sets only `retry.maximumAttempts` keeps the other retry fields). Values the schema
 * rejected are skipped here; they are already reported.
 */
export function resolveSettings(
  step: Raw,
  stepPath: YamlPath,
  defaults: Raw,
  kind: CatalogEntry | undefined,
  findings: Finding[],
): StepSettings {
  const layers: Layer[] = [
    { raw: defaults, path: ['defaults'] },
    { raw: step, path: stepPath },
  ];
  const pick = <T>(get: (l: Layer) => T | undefined, fallback: T): { value: T; from?: Layer } => {
    for (const l of [...layers].reverse()) {
      const v = get(l);
      if (v !== undefined) return { value: v, from: l };
    }
    return { value: fallback };
  };
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const duration = (key: string, fallback: number, get: (l: Layer) => unknown, fieldPath: (l: Layer) => YamlPath) => {
    const { value, from } = pick((l) => {
      const v = get(l);
      return typeof v === 'string' ? parseDuration(v) : undefined;
    }, fallback);
    if (from && value <= 0)
      findings.push({ path: fieldPath(from), message: at(fieldPath(from), `${key} must be longer than 0`) });
    return value;
  };
  const retryOf = (l: Layer) => obj(l.raw.retry);
  const retryField = (l: Layer, f: string): YamlPath => [...l.path, 'retry', f];

  const retry: RetryPolicy = {
    maximumAttempts: pick(
      (l) => (Number.isInteger(retryOf(l).maximumAttempts) ? (retryOf(l).maximumAttempts as number) : undefined),
      DEFAULT_RETRY.maximumAttempts,
    ).value,
    initialIntervalMs: duration(
      'initialInterval',
      DEFAULT_RETRY.initialIntervalMs,
      (l) => retryOf(l).initialInterval,
      (l) => retryField(l, 'initialInterval'),
    ),
    backoffCoefficient: pick(
      (l) =>
        typeof retryOf(l).backoffCoefficient === 'number' ? (retryOf(l).backoffCoefficient as number) : undefined,
      DEFAULT_RETRY.backoffCoefficient,
    ).value,
    maximumIntervalMs: duration(
      'maximumInterval',
      DEFAULT_RETRY.maximumIntervalMs,
      (l) => retryOf(l).maximumInterval,
      (l) => retryField(l, 'maximumInterval'),
    ),
    nonRetryableErrorTypes: pick(
      (l) =>
        Array.isArray(retryOf(l).nonRetryableErrorTypes)
          ? (retryOf(l).nonRetryableErrorTypes as unknown[]).filter((x): x is string => typeof x === 'string')
          : undefined,
      [...DEFAULT_RETRY.nonRetryableErrorTypes],
    ).value,
  };
  // Temporal rejects such a policy only when the activity is scheduled, mid-run; say it now.
  if (retry.maximumIntervalMs < retry.initialIntervalMs) {
    const where = pick((l) => (l.raw.retry !== undefined ? [...l.path, 'retry'] : undefined), stepPath).value;
    findings.push({
      path: where,
      key: true,
      message: at(
        where,
        `maximumInterval (${retry.maximumIntervalMs}ms) is shorter than initialInterval (${retry.initialIntervalMs}ms)`,
      ),
    });
  }
  return {
    queue: pick((l) => str(l.raw.queue), kind?.queue ?? 'default').value,
    retry,
    timeoutMs: duration(
      'timeout',
      DEFAULT_TIMEOUT_MS,
      (l) => l.raw.timeout,
      (l) => [...l.path, 'timeout'],
    ),
    heartbeatTimeoutMs: duration(
      'heartbeatTimeout',
      DEFAULT_HEARTBEAT_TIMEOUT_MS,
      (l) => l.raw.heartbeatTimeout,
      (l) => [...l.path, 'heartbeatTimeout'],
    ),
    cache: pick((l) => (typeof l.raw.cache === 'boolean' ? l.raw.cache : undefined), DEFAULT_CACHE).value,
    shards: Number.isInteger(step.shards) && (step.shards as number) >= 1 ? (step.shards as number) : 1,
  };
}
