// Per-sample gradients of the DPO loss, flattened. BPO clusters pairs by
// these vectors, so they are restricted to a parameter subset (typically the
// last block or ln_f) to keep them a manageable size.
import * as tf from '@tensorflow/tfjs';
import { tokenizerOf, type CausalLM } from './model.js';
import type { DpoLossType } from './losses.js';
import type { Tokenizer } from './tokenizer.js';
import { dpoBatchLoss, encodePairs, type PreferencePair, type RefLogps } from './train/dpo.js';

/** Prefix string, regular expression, explicit list, or predicate on HF parameter names. */
export type ParamFilter = string | RegExp | string[] | ((name: string) => boolean);

export function selectParams(model: CausalLM, filter: ParamFilter): string[] {
  const test =
    typeof filter === 'string'
      ? (n: string) => n.startsWith(filter)
      : filter instanceof RegExp
        ? (n: string) => filter.test(n)
        : Array.isArray(filter)
          ? (n: string) => filter.includes(n)
          : filter;
  const names = [...model.params.keys()].filter(test);
  if (names.length === 0) throw new Error(`parameter filter ${String(filter)} matches no parameters`);
  return names;
}

export interface GradFeatures {
  /** Parameters included, in flattening order. */
  names: string[];
  dim: number;
  /** One flat gradient per pair. */
  features: Float32Array[];
}

export function perSampleGradFeatures(
  model: CausalLM,
  pairs: PreferencePair[],
  refLogps: RefLogps,
  opts: {
    paramFilter: ParamFilter;
    beta?: number;
    lossType?: DpoLossType;
    labelSmoothing?: number;
    maxLength?: number;
    tokenizer?: Tokenizer;
  },
): GradFeatures {
  const tok = opts.tokenizer ?? tokenizerOf(model);
  const names = selectParams(model, opts.paramFilter);
  const vars = names.map((n) => model.params.get(n)!);
  const dim = vars.reduce((a, v) => a + v.size, 0);
  const maxLength = Math.min(opts.maxLength ?? model.config.n_positions, model.config.n_positions);
  const encoded = encodePairs(tok, pairs, maxLength);
  const cfg = {
    beta: opts.beta ?? 0.1,
    lossType: opts.lossType ?? 'sigmoid',
    labelSmoothing: opts.labelSmoothing ?? 0,
  };
  const features: Float32Array[] = [];
  for (let i = 0; i < pairs.length; i++) {
    const flat = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => dpoBatchLoss(model, encoded, refLogps, [i], cfg, tok.padId).loss,
        vars,
      );
      value.dispose();
      return tf.concat(vars.map((v) => grads[v.name]!.reshape([-1])));
    });
    features.push(flat.dataSync() as Float32Array);
    flat.dispose();
  }
  return { names, dim, features };
}
