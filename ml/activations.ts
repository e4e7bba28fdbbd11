// The MLP activations of transformers' ACT2FN that ml/config.ts accepts,
// with the same formulas (and constants) as transformers/activations.py.
// The tanh-approximated GELUs are one function in gpt2.ts (geluTanh).
import * as tf from '@tensorflow/tfjs';
import type { Activation } from './config.js';

/** Names transformers computes as 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export const TANH_GELUS: ReadonlySet<Activation> = new Set([
  'gelu_new',
  'gelu_pytorch_tanh',
  'gelu_python_tanh',
  'gelu_fast',
  'gelu_accurate',
]);

const gelu = (x: tf.Tensor): tf.Tensor => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));

/** Every activation except the tanh GELUs (the caller handles those). */
export function activate(name: Activation, x: tf.Tensor2D): tf.Tensor2D {
  switch (name) {
    case 'gelu':
    case 'gelu_python':
      return gelu(x) as tf.Tensor2D;
    case 'gelu_10':
      return tf.clipByValue(gelu(x), -10, 10) as tf.Tensor2D;
    case 'quick_gelu':
      return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
    case 'relu':
      return tf.relu(x);
    case 'relu2':
      return tf.square(tf.relu(x));
    case 'relu6':
      return tf.relu6(x);
    case 'leaky_relu':
      return tf.leakyRelu(x, 0.01); // nn.LeakyReLU's default slope
    case 'silu':
    case 'swish':
      return tf.mul(x, tf.sigmoid(x));
    case 'mish':
      return tf.mul(x, tf.tanh(tf.softplus(x)));
    case 'hardswish':
      return tf.div(tf.mul(x, tf.relu6(tf.add(x, 3))), 6);
    case 'tanh':
      return tf.tanh(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'linear':
      return x;
    default:
      throw new Error(`activation ${name} is a tanh GELU or unknown`);
  }
}
