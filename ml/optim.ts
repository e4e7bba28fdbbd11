// AdamW (decoupled weight decay, as torch.optim.AdamW), learning-rate
// schedules (as transformers' get_*_schedule_with_warmup) and global-norm
// clipping (as torch.nn.utils.clip_grad_norm_).
import * as tf from '@tensorflow/tfjs';
import type { NamedTensor } from './safetensors.js';

export interface AdamWConfig {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export class AdamW {
  readonly m = new Map<string, tf.Variable>();
  readonly v = new Map<string, tf.Variable>();
  /** Completed updates; the bias correction depends on it. */
  t = 0;
  private readonly b1: number;
  private readonly b2: number;
  private readonly eps: number;
  private readonly wd: number;

  constructor(
    private readonly params: Map<string, tf.Variable>,
    cfg: AdamWConfig = {},
  ) {
    this.b1 = cfg.beta1 ?? 0.9;
    this.b2 = cfg.beta2 ?? 0.999;
    this.eps = cfg.eps ?? 1e-8;
    this.wd = cfg.weightDecay ?? 0;
    for (const [name, p] of params) {
      this.m.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
      this.v.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
    }
  }

  // Biases and LayerNorm gains are 1-D; decaying them towards zero only hurts.
  static decays(_name: string, shape: number[]): boolean {
    return shape.length >= 2;
  }

  step(grads: Map<string, tf.Tensor>, lr: number): void {
    this.t += 1;
    const bc1 = 1 - this.b1 ** this.t;
    const bc2 = 1 - this.b2 ** this.t;
    const stepSize = lr / bc1;
    const sqrtBc2 = Math.sqrt(bc2);
    // One tidy per parameter: the temporaries of all parameters at once
    // would be several model-sized copies at the peak.
    for (const [name, p] of this.params) {
      const g = grads.get(name);
      if (!g) continue;
      tf.tidy(() => {
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const m1 = tf.add(tf.mul(m, this.b1), tf.mul(g, 1 - this.b1));
        const v1 = tf.add(tf.mul(v, this.b2), tf.mul(tf.square(g), 1 - this.b2));
        m.assign(m1);
        v.assign(v1);
        let w: tf.Tensor = p;
        if (this.wd > 0 && AdamW.decays(name, p.shape)) w = tf.mul(w, 1 - lr * this.wd);
        const denom = tf.add(tf.div(tf.sqrt(v1), sqrtBc2), this.eps);
        p.assign(tf.sub(w, tf.mul(tf.div(m1, denom), stepSize)));
      });
    }
  }

  exportState(): { t: number; tensors: Map<string, NamedTensor> } {
    const tensors = new Map<string, NamedTensor>();
    for (const [name, m] of this.m)
      tensors.set(`optim.m.${name}`, { shape: m.shape.slice(), data: m.dataSync() as Float32Array });
    for (const [name, v] of this.v)
      tensors.set(`optim.v.${name}`, { shape: v.shape.slice(), data: v.dataSync() as Float32Array });
    return { t: this.t, tensors };
  }

  importState(t: number, tensors: Map<string, NamedTensor>): void {
    this.t = t;
    for (const [kind, map] of [
      ['m', this.m],
      ['v', this.v],
    ] as const) {
      for (const [name, variable] of map) {
        const a = tensors.get(`optim.${kind}.${name}`);
        if (!a) throw new Error(`training state lacks optim.${kind}.${name}`);
        tf.tidy(() => variable.assign(tf.tensor(a.data, a.shape, 'float32')));
      }
    }
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
  }
}

export type ScheduleType = 'cosine' | 'linear' | 'constant';

/** Learning rate for the update with 0-based index `step` of `total`. */
export function learningRateAt(step: number, total: number, peak: number, warmup: number, type: ScheduleType): number {
  if (step < warmup) return (peak * step) / Math.max(1, warmup);
  if (type === 'constant') return peak;
  const progress = (step - warmup) / Math.max(1, total - warmup);
  if (type === 'linear') return peak * Math.max(0, 1 - progress);
  return peak * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** Scales grads in place to global L2 norm ≤ maxNorm; returns the norm before clipping. */
export function clipGlobalNorm(grads: Map<string, tf.Tensor>, maxNorm: number): number {
  const sq = tf.tidy(() => tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g)))));
  const norm = Math.sqrt((sq.dataSync() as Float32Array)[0]!);
  sq.dispose();
  if (maxNorm > 0 && Number.isFinite(norm)) {
    const coef = maxNorm / (norm + 1e-6);
    if (coef < 1) {
      for (const [name, g] of grads) {
        grads.set(
          name,
          tf.tidy(() => tf.mul(g, coef)),
        );
        g.dispose();
      }
    }
  }
  return norm;
}
