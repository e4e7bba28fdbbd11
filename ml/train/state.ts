// Training state as one safetensors blob: model weights ("model.*"), AdamW
// moments ("optim.m.*", "optim.v.*") and, in __metadata__, a JSON record of
// everything else (step, data cursor, RNG). Restoring it and continuing
// reproduces an uninterrupted run bit for bit on the same backend.
import * as tf from '@tensorflow/tfjs';
import type { AdamW } from '../optim.js';
import type { Trainable, TrainKind } from './loop.js';
import type { RngState } from '../rng.js';
import { parseSafetensors, serializeSafetensors, type NamedTensor } from '../safetensors.js';

export interface TrainProgress {
  kind: TrainKind;
  /** Optimizer updates completed. */
  step: number;
  totalSteps: number;
  /** Data cursor: epoch number and position within that epoch's permutation. */
  epoch: number;
  cursor: number;
  datasetSize: number;
  rng: { s: RngState; spare: number | null };
  optimizerT: number;
  /** The config the run started with; a resume keeps using it. */
  config: Record<string, unknown>;
}

const META_KEY = 'bpoflow_train_state';

export function serializeTrainState(model: Trainable, opt: AdamW, progress: TrainProgress): Uint8Array {
  const tensors = new Map<string, NamedTensor>();
  for (const [name, v] of model.params)
    tensors.set(`model.${name}`, { shape: v.shape.slice(), data: v.dataSync() as Float32Array });
  for (const [name, t] of opt.exportState().tensors) tensors.set(name, t);
  return serializeSafetensors(tensors, { metadata: { [META_KEY]: JSON.stringify(progress) } });
}

/** Reads a state blob, loads weights and moments into the live model/optimizer, returns the rest. */
export function restoreTrainState(bytes: Uint8Array, model: Trainable, opt: AdamW): TrainProgress {
  const { tensors, metadata } = parseSafetensors(bytes);
  const meta = metadata[META_KEY];
  if (!meta) throw new Error('not a bpoflow training state (no bpoflow_train_state metadata)');
  const progress = JSON.parse(meta) as TrainProgress;
  for (const [name, v] of model.params) {
    const a = tensors.get(`model.${name}`);
    if (!a) throw new Error(`training state lacks model.${name}`);
    if (a.shape.join(',') !== v.shape.join(','))
      throw new Error(`training state: model.${name} has shape [${a.shape}], model has [${v.shape}]`);
    tf.tidy(() => v.assign(tf.tensor(a.data, a.shape, 'float32')));
  }
  opt.importState(progress.optimizerT, tensors);
  return progress;
}

/** Peek at the JSON part without touching a model. */
export function readTrainProgress(bytes: Uint8Array): TrainProgress {
  const meta = parseSafetensors(bytes).metadata[META_KEY];
  if (!meta) throw new Error('not a bpoflow training state');
  return JSON.parse(meta) as TrainProgress;
}
