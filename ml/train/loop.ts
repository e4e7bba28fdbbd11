// The optimisation loop shared by SFT, DPO and reward modelling: data order, gradient
// accumulation, clipping, AdamW, LR schedule, checkpoints. The objective
// plugs in as `microLoss`.
import * as tf from '@tensorflow/tfjs';
import { AdamW, clipGlobalNorm, learningRateAt, type ScheduleType } from '../optim.js';
import { Rng } from '../rng.js';
import { restoreTrainState, serializeTrainState, type TrainProgress } from './state.js';
import { epochOrder } from './order.js';

export interface TrainConfig {
  seed?: number;
  learningRate?: number;
  weightDecay?: number;
  adamBeta1?: number;
  adamBeta2?: number;
  adamEpsilon?: number;
  warmupSteps?: number;
  lrSchedule?: ScheduleType;
  /** Optimizer updates to run; default: `epochs` passes over the data. */
  maxSteps?: number;
  epochs?: number;
  /** Examples (or pairs) per micro-batch. */
  batchSize?: number;
  gradAccumSteps?: number;
  /** 0 disables clipping. */
  maxGradNorm?: number;
  /** Tokens per sequence, prompt + response + EOS. */
  maxLength?: number;
}

export const TRAIN_DEFAULTS = {
  seed: 0,
  learningRate: 1e-4,
  weightDecay: 0,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  warmupSteps: 0,
  lrSchedule: 'linear' as ScheduleType,
  epochs: 1,
  batchSize: 4,
  gradAccumSteps: 1,
  maxGradNorm: 1.0,
};

export type StepMetrics = Record<string, number>;

export interface LoopHooks {
  /** Called after every optimizer update with TRL-named metrics. */
  onStep?: (metrics: StepMetrics) => void | Promise<void>;
  /** Return true to have onCheckpoint called with the serialized state after this step. */
  shouldCheckpoint?: (step: number, metrics: StepMetrics) => boolean;
  onCheckpoint?: (state: Uint8Array, step: number) => void | Promise<void>;
  /** Return true to stop after this step (e.g. cancellation); the result still carries the state. */
  shouldStop?: (step: number) => boolean;
}

export interface TrainResult {
  step: number;
  totalSteps: number;
  done: boolean;
  lastMetrics: StepMetrics | null;
  /** Serialized state for resuming (weights, optimizer, cursor, RNG). */
  serializeState: () => Uint8Array;
  /** Frees optimizer moments; the model stays. */
  dispose: () => void;
}

/** What the loop trains: named variables (a causal LM, or a reward model's backbone + head). */
export interface Trainable {
  readonly params: Map<string, tf.Variable>;
}

export type TrainKind = 'sft' | 'dpo' | 'reward';

export interface MicroLoss {
  loss: tf.Scalar;
  /** Plain numbers; averaged over the micro-batches of one update. */
  metrics: StepMetrics;
}

export async function runTrainLoop(args: {
  kind: TrainKind;
  model: Trainable;
  datasetSize: number;
  config: TrainConfig & Record<string, unknown>;
  state?: Uint8Array;
  hooks: LoopHooks;
  /** Builds the loss for the examples at `indices`; runs under tf.variableGrads. */
  microLoss: (indices: number[], config: Record<string, unknown>) => MicroLoss;
}): Promise<TrainResult> {
  const { model, datasetSize: N, hooks } = args;
  if (N === 0) throw new Error('empty dataset');
  let cfg = { ...TRAIN_DEFAULTS, ...args.config };
  const opt = new AdamW(model.params, {
    beta1: cfg.adamBeta1,
    beta2: cfg.adamBeta2,
    eps: cfg.adamEpsilon,
    weightDecay: cfg.weightDecay,
  });
  const rng = new Rng(cfg.seed);
  let step = 0;
  let epoch = 0;
  let cursor = 0;
  let totalSteps = cfg.maxSteps ?? Math.ceil((cfg.epochs * N) / (cfg.batchSize * cfg.gradAccumSteps));

  if (args.state) {
    const p = restoreTrainState(args.state, model, opt);
    if (p.kind !== args.kind) throw new Error(`training state is for ${p.kind}, not ${args.kind}`);
    if (p.datasetSize !== N) throw new Error(`training state was for a dataset of ${p.datasetSize} examples, got ${N}`);
    // The original config wins: changing batch size or schedule mid-run would break exact resume.
    cfg = { ...cfg, ...(p.config as typeof cfg) };
    ({ step, epoch, cursor, totalSteps } = p);
    rng.setState(p.rng);
  }

  // Each epoch's order is derived from (seed, epoch), so the cursor alone
  // pins the data position; no permutation needs saving.
  let orderEpoch = -1;
  let order: number[] = [];
  const nextIndices = (n: number): number[] => {
    const out: number[] = [];
    while (out.length < n) {
      if (cursor >= N) {
        epoch++;
        cursor = 0;
      }
      if (orderEpoch !== epoch) {
        order = epochOrder(cfg.seed, epoch, N);
        orderEpoch = epoch;
      }
      out.push(order[cursor++]!);
    }
    return out;
  };

  const progress = (): TrainProgress => ({
    kind: args.kind,
    step,
    totalSteps,
    epoch,
    cursor,
    datasetSize: N,
    rng: rng.getState(),
    optimizerT: opt.t,
    config: cfg as Record<string, unknown>,
  });

  const vars = [...model.params.values()];
  const names = [...model.params.keys()];
  let lastMetrics: StepMetrics | null = null;

  while (step < totalSteps) {
    const lr = learningRateAt(step, totalSteps, cfg.learningRate, cfg.warmupSteps, cfg.lrSchedule);
    let acc: Map<string, tf.Tensor> | null = null;
    const sums: StepMetrics = {};
    for (let a = 0; a < cfg.gradAccumSteps; a++) {
      const indices = nextIndices(cfg.batchSize);
      let metrics: StepMetrics = {};
      const { value, grads } = tf.tidy(() =>
        tf.variableGrads(() => {
          const r = args.microLoss(indices, cfg);
          metrics = r.metrics;
          return tf.div(r.loss, cfg.gradAccumSteps) as tf.Scalar;
        }, vars),
      );
      value.dispose();
      for (const [k, v] of Object.entries(metrics)) sums[k] = (sums[k] ?? 0) + v;
      if (!acc) {
        acc = new Map(names.map((n, i) => [n, grads[vars[i]!.name]!]));
      } else {
        for (let i = 0; i < names.length; i++) {
          const prev = acc.get(names[i]!)!;
          const g = grads[vars[i]!.name]!;
          acc.set(names[i]!, tf.add(prev, g));
          prev.dispose();
          g.dispose();
        }
      }
    }
    const gradNorm = clipGlobalNorm(acc!, cfg.maxGradNorm);
    opt.step(acc!, lr);
    for (const g of acc!.values()) g.dispose();
    step++;

    const metrics: StepMetrics = {};
    for (const [k, v] of Object.entries(sums)) metrics[k] = v / cfg.gradAccumSteps;
    Object.assign(metrics, { grad_norm: gradNorm, learning_rate: lr, step, epoch: epoch + cursor / N });
    lastMetrics = metrics;
    await hooks.onStep?.(metrics);
    if (hooks.shouldCheckpoint?.(step, metrics))
      await hooks.onCheckpoint?.(serializeTrainState(model, opt, progress()), step);
    if (hooks.shouldStop?.(step)) break;
  }

  return {
    step,
    totalSteps,
    done: step >= totalSteps,
    lastMetrics,
    serializeState: () => serializeTrainState(model, opt, progress()),
    dispose: () => opt.dispose(),
  };
}
