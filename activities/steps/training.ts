// What model.sft and bpo.train share: checkpoint/resume against the store,
// heartbeats, metrics rows, and the deterministic count of tokens processed.
//
// A checkpoint is a bundle at runs/<run>/<step>/checkpoints/<step> holding
// `state.safetensors` (weights + AdamW moments + data cursor + RNG, see
// ml/train/state.ts) and `metrics.jsonl` (the metrics rows up to that step).
// A retry resumes from the newest valid checkpoint of this run/step (or the one
// its previous attempt heartbeated), so at most `checkpointEvery` steps are
// redone, and the final weights equal an uninterrupted run's bit for bit.
//
// A run made by `bpoflow resume` has no checkpoints of its own at first: the
// step then continues from the newest valid checkpoint of the run(s) it
// resumes (activities/run-links.ts), provided that checkpoint was written by
// the same step with the same resolved arguments. Each checkpoint carries the
// fingerprint of those (`resume-key.json`); a step whose inputs or settings
// changed (e.g. `resume --from` an upstream step) trains from scratch.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../spec/canonical-json.js';
import { resumeAncestors } from '../run-links.js';
import {
  currentBackend,
  trainingIndices,
  type CausalLM,
  type TrainConfig,
  type RewardModel,
  type LoopHooks,
  type StepMetrics,
  type TrainResult,
} from '../../ml/index.js';
import { saveModelArtifact } from './model-io.js';
import { Checkpoints, type LoadedCheckpoint } from '../../store/checkpoints.js';
import { MetricsWriter, parseMetrics, type MetricsRow } from '../metrics.js';
import type { KindOutput, StepContext } from '../step-kind.js';
import type { ArgsOf, TObject } from '../kind-schema.js';
import type { trainingArgs } from './args.js';
import { assertNotCancelled, breathe, producerOf } from './common.js';
import { sampleTelemetry } from '../telemetry.js';

export const STATE_FILE = 'state.safetensors';
export const ROWS_FILE = 'metrics.jsonl';
export const RESUME_KEY_FILE = 'resume-key.json';

export interface Resume {
  state: Uint8Array;
  step: number;
  uri: string;
  rows: MetricsRow[];
  /** The run whose checkpoint this is, when it is an earlier run that this one resumes. */
  fromRun?: string;
}

/** What a checkpoint is valid for: this step id with these resolved arguments. */
export function resumeKey(stepId: string, args: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson({ stepId, args })).digest('hex');
}

const keyBytes = (key: string) => new TextEncoder().encode(JSON.stringify({ resumeKey: key }));

/**
 * The newest valid checkpoint of this run/step, or the one the previous attempt
 * heartbeated if that is newer; without either, the newest valid checkpoint of
 * the same step in the runs this run resumes whose resume key matches `args`.
 */
export async function findResume(ctx: StepContext, args?: Record<string, unknown>): Promise<Resume | null> {
  const ckpts = new Checkpoints(ctx.store);
  let best: LoadedCheckpoint | null = await ckpts.latestCheckpoint(ctx.runId, ctx.stepId);
  for (const s of best?.skipped ?? []) ctx.log.warn('skipping invalid checkpoint', s);
  let fromRun: string | undefined;
  const hinted = ctx.previousProgress?.checkpoint;
  if (hinted && hinted !== best?.uri) {
    try {
      const c = await ckpts.load(hinted);
      if (!best || c.step > best.step) best = c;
    } catch (e) {
      ctx.log.warn('heartbeated checkpoint is unusable', { uri: hinted, error: String(e) });
    }
  }
  if (!best && args) {
    const found = await ancestorCheckpoint(ctx, ckpts, resumeKey(ctx.stepId, args));
    if (found) [best, fromRun] = [found.checkpoint, found.runId];
  }
  if (!best) return null;
  const state = best.files[STATE_FILE];
  if (!state) return null;
  const rowsBytes = best.files[ROWS_FILE];
  const rows = rowsBytes ? parseMetrics(new TextDecoder().decode(rowsBytes)) : [];
  return { state, step: best.step, uri: best.uri, rows, ...(fromRun ? { fromRun } : {}) };
}

async function ancestorCheckpoint(
  ctx: StepContext,
  ckpts: Checkpoints,
  key: string,
): Promise<{ checkpoint: LoadedCheckpoint; runId: string } | null> {
  for (const runId of await resumeAncestors(ctx.store, ctx.runId)) {
    const c = await ckpts.latestCheckpoint(runId, ctx.stepId);
    for (const s of c?.skipped ?? []) ctx.log.warn('skipping invalid checkpoint', s);
    if (!c) continue;
    const stored = c.files[RESUME_KEY_FILE]
      ? (JSON.parse(new TextDecoder().decode(c.files[RESUME_KEY_FILE])) as { resumeKey?: string }).resumeKey
      : undefined;
    if (stored === key) return { checkpoint: c, runId };
    // Another step's work (other inputs or settings): starting over is the only correct choice.
    ctx.log.info('checkpoint of the resumed run does not match this step', {
      run: runId,
      uri: c.uri,
      reason: stored ? "the step's arguments changed" : 'it has no resume key',
    });
    return null;
  }
  return null;
}

/**
 * Tokens (prompt + response + EOS, unpadded) the loop feeds through the model in
 * `steps` updates, replaying its data order (ml/train/order.ts). `lengths[i]` (or
 * `lengths(i)`, asked only for the examples read) is example i's token count.
 */
export function tokensForSteps(
  lengths: number[] | ((i: number) => number),
  seed: number,
  steps: number,
  examplesPerStep: number,
  N = Array.isArray(lengths) ? lengths.length : 0,
): number[] {
  const lengthOf = typeof lengths === 'function' ? lengths : (i: number) => lengths[i]!;
  const visited = trainingIndices(N, seed, steps, examplesPerStep);
  const perStep: number[] = [];
  for (let s = 0; s < steps; s++) {
    let t = 0;
    for (let k = 0; k < examplesPerStep; k++) t += lengthOf(visited[s * examplesPerStep + k]!);
    perStep.push(t);
  }
  return perStep;
}

export interface TrainingDriver {
  hooks: LoopHooks;
  metrics: MetricsWriter;
  /** Checkpoints written by this attempt. */
  checkpoints: string[];
  /** Cumulative tokens after each step (index = step - 1). */
  cumulativeTokens: number[];
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** Heartbeats + metrics rows + checkpoints for one training step. */
export function trainingDriver(
  ctx: StepContext,
  opts: {
    totalSteps: number;
    tokensPerStep: number[];
    /** Sequences through the model per update (DPO: 2 × pairs), for sequences/s. */
    sequencesPerStep?: number;
    checkpointEvery: number;
    keepCheckpoints: number;
    resume: Resume | null;
    pauseMs: number;
    inputs: string[];
    /** The step's resolved arguments: their fingerprint goes into every checkpoint (see findResume). */
    args?: Record<string, unknown>;
  },
): TrainingDriver {
  const keyFile: Record<string, Uint8Array> = opts.args
    ? { [RESUME_KEY_FILE]: keyBytes(resumeKey(ctx.stepId, opts.args)) }
    : {};
  const ckpts = new Checkpoints(ctx.store, { retention: { keepLast: opts.keepCheckpoints } });
  const metrics = MetricsWriter.open(ctx, {
    total: opts.totalSteps,
    unit: 'steps',
    flushEveryMs: 5_000,
    backend: currentBackend()?.name,
  });
  const rows: MetricsRow[] = [];
  const cumulativeTokens: number[] = [];
  let acc = 0;
  for (const t of opts.tokensPerStep) cumulativeTokens.push((acc += t));
  // Replay the rows the checkpoint carried, so metrics.jsonl covers the whole run.
  for (const r of opts.resume?.rows ?? []) {
    const { step, ts: _ts, ...values } = r;
    rows.push(r);
    metrics.log(step, values);
  }
  const checkpoints: string[] = [];
  // Throughput counts compute only: the clock restarts after each step's pause and checkpoint.
  let clock = Date.now();
  const hooks: LoopHooks = {
    onStep: async (m: StepMetrics) => {
      const step = m.step!;
      const seconds = Math.max(1e-3, (Date.now() - clock) / 1000);
      const machine = sampleTelemetry();
      const values: Record<string, number> = {
        ...m,
        tokens: cumulativeTokens[step - 1] ?? acc,
        tokens_per_s: round1((opts.tokensPerStep[step - 1] ?? 0) / seconds),
        ...(opts.sequencesPerStep ? { sequences_per_s: round1(opts.sequencesPerStep / seconds) } : {}),
        peak_rss_mb: machine.peakRssMb,
        ...(machine.gpuMemoryMb !== undefined ? { gpu_memory_mb: machine.gpuMemoryMb } : {}),
      };
      delete values.step;
      rows.push({ step, ts: Date.now(), ...values });
      metrics.log(step, values);
      ctx.log.debug('train step', { trainStep: step, loss: values.loss, tokensPerS: Math.round(values.tokens_per_s!) });
      await breathe(ctx, opts.pauseMs);
      clock = Date.now();
    },
    shouldCheckpoint: (step) => opts.checkpointEvery > 0 && step % opts.checkpointEvery === 0 && step < opts.totalSteps,
    onCheckpoint: async (state, step) => {
      const last = rows.at(-1);
      const body = rows
        .filter((r) => r.step <= step)
        .map((r) => JSON.stringify(r) + '\n')
        .join('');
      const ref = await ckpts.save(
        ctx.runId,
        ctx.stepId,
        {
          files: { [STATE_FILE]: state, [ROWS_FILE]: new TextEncoder().encode(body), ...keyFile },
          meta: { step, metric: last?.loss !== undefined ? { loss: last.loss } : {} },
        },
        { producer: producerOf(ctx), inputs: opts.inputs },
      );
      checkpoints.push(ref.uri);
      ctx.progress({ checkpoint: ref.uri, message: `checkpoint at step ${step}` });
      ctx.log.info('checkpoint saved', { trainStep: step, uri: ref.uri, pruned: ref.pruned.length });
      clock = Date.now();
    },
    shouldStop: () => ctx.signal.aborted,
  };
  return { hooks, metrics, checkpoints, cumulativeTokens };
}

/** After the loop: a cancelled loop stops early; surface that as the cancellation. */
export function checkFinished(ctx: StepContext, result: TrainResult): void {
  assertNotCancelled(ctx);
  if (!result.done) throw new Error(`training stopped at step ${result.step} of ${result.totalSteps}`);
}

/** What finishTraining returns, as the catalog describes it; kinds override the descriptions that differ. */
export const TRAINING_OUTPUTS: Record<string, KindOutput> = {
  model: { type: 'artifact', description: 'model bundle: config.json + model.safetensors' },
  metrics: {
    type: 'artifact',
    description: 'metrics.jsonl: one row per update (TRL names, plus tokens = cumulative tokens processed)',
  },
  steps: { type: 'number', description: 'optimizer updates completed' },
  tokens: {
    type: 'number',
    description: 'tokens processed (prompt + response + EOS per sequence, unpadded), for compute comparisons',
  },
  loss: { type: 'number', description: 'training loss of the last update' },
  resumedFrom: {
    type: 'number',
    description: 'checkpoint step the successful attempt resumed from (0 = started fresh)',
  },
};

export interface TrainingOutputs {
  model: string;
  metrics: string;
  steps: number;
  tokens: number;
  loss: number | null;
  resumedFrom: number;
  [name: string]: string | number | null;
}

/**
 * After the loop: fails unless it finished, closes the metrics, and saves the
 * trained model with a record of how it was trained.
 */
export async function finishTraining(
  ctx: StepContext,
  driver: TrainingDriver,
  result: TrainResult,
  resume: Resume | null,
  model: CausalLM | RewardModel,
  opts: { inputs: string[]; training: Record<string, unknown> },
): Promise<TrainingOutputs> {
  try {
    checkFinished(ctx, result);
  } finally {
    result.dispose();
  }
  const metrics = await driver.metrics.close();
  const tokens = driver.cumulativeTokens.at(-1) ?? 0;
  const resumedFrom = resume?.step ?? 0;
  const ref = await saveModelArtifact(ctx, 'model', model, {
    inputs: opts.inputs,
    attributes: { training: { ...opts.training, steps: result.step, tokens, resumedFrom, attempt: ctx.attempt } },
  });
  return { model: ref.uri, metrics, steps: result.step, tokens, loss: result.lastMetrics?.loss ?? null, resumedFrom };
}

/** The arguments every training kind has (args.ts: trainingArgs). */
export type TrainingArgs = ArgsOf<TObject<ReturnType<typeof trainingArgs>>>;

/** Optimizer updates to run: `maxSteps`, else `epochs` passes over `examples` items. */
export const totalStepsOf = (a: TrainingArgs, examples: number): number =>
  a.maxSteps ?? Math.ceil((a.epochs * examples) / (a.batchSize * a.gradAccumSteps));

/** A training kind's loop, set up: spread `hooks` and pass `config` to the trainer, then `finish`. */
export interface TrainingRun {
  resume: Resume | null;
  hooks: LoopHooks;
  config: TrainConfig;
  /** Fails unless the loop finished; saves the model with a record of how it was trained. */
  finish(
    result: TrainResult,
    model: CausalLM | RewardModel,
    record: { inputs: string[]; training: Record<string, unknown> },
  ): Promise<TrainingOutputs>;
}

/**
 * How every training kind starts its loop: the checkpoint to resume from (logged), and
 * the driver that heartbeats, logs metrics and checkpoints keyed on all of `args`.
 * `tokens(i)` is example i's token count (all its sequences), asked only for those read.
 */
export async function startTraining(
  ctx: StepContext,
  args: TrainingArgs,
  opts: {
    examples: number;
    maxLength: number;
    tokens: number[] | ((i: number) => number);
    /** Sequences through the model per example (a pair is two). */
    sequencesPerExample: 1 | 2;
    inputs: string[];
    /** Default: totalStepsOf(args, examples). */
    totalSteps?: number;
  },
): Promise<TrainingRun> {
  const totalSteps = opts.totalSteps ?? totalStepsOf(args, opts.examples);
  const perStep = args.batchSize * args.gradAccumSteps;
  const resume = await findResume(ctx, args);
  if (resume) {
    const from = resume.fromRun ? { fromRun: resume.fromRun } : {};
    ctx.log.info('resuming from checkpoint', { fromStep: resume.step, uri: resume.uri, attempt: ctx.attempt, ...from });
  }
  const driver = trainingDriver(ctx, {
    totalSteps,
    tokensPerStep: tokensForSteps(opts.tokens, args.seed, totalSteps, perStep, opts.examples),
    sequencesPerStep: opts.sequencesPerExample * perStep,
    checkpointEvery: args.checkpointEvery,
    keepCheckpoints: args.keepCheckpoints,
    pauseMs: args.pauseMs,
    resume,
    inputs: opts.inputs,
    args,
  });
  const message = resume ? `resumed at step ${resume.step}` : 'training';
  ctx.progress({ done: resume?.step ?? 0, total: totalSteps, unit: 'steps', message });
  const config: TrainConfig = {
    seed: args.seed,
    learningRate: args.learningRate,
    weightDecay: args.weightDecay,
    warmupSteps: args.warmupSteps,
    lrSchedule: args.schedule,
    maxSteps: totalSteps,
    batchSize: args.batchSize,
    gradAccumSteps: args.gradAccumSteps,
    maxGradNorm: args.maxGradNorm,
    maxLength: opts.maxLength,
  };
  return {
    resume,
    hooks: driver.hooks,
    config,
    finish: (result, model, record) => finishTraining(ctx, driver, result, resume, model, record),
  };
}
