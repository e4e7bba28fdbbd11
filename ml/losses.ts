// Preference losses, defined as in TRL's DPOTrainer.dpo_loss. With
//   x = (π_c − π_r) − (ref_c − ref_r)
//   sigmoid: −logσ(βx)(1−ε) − logσ(−βx)ε            (ε = label_smoothing, cDPO)
//   ipo:     (x − 1/(2β))²                            (logps are per-token means)
//   hinge:   relu(1 − βx)                             (RSO)
//   robust:  (−logσ(βx)(1−ε) + logσ(−βx)ε)/(1−2ε)
import * as tf from '@tensorflow/tfjs';

export type DpoLossType = 'sigmoid' | 'ipo' | 'hinge' | 'robust';

// logσ(z) = −softplus(−z): tf.logSigmoid's gradient crashes on
// intermediate tensors in tfjs 4.22.
export function logSigmoid(z: tf.Tensor): tf.Tensor {
  return tf.neg(tf.softplus(tf.neg(z)));
}

/** Per-pair losses [B] from the logit x [B]. */
export function dpoLosses(x: tf.Tensor1D, type: DpoLossType, beta: number, labelSmoothing = 0): tf.Tensor1D {
  const bx = tf.mul(x, beta);
  const eps = labelSmoothing;
  switch (type) {
    case 'sigmoid':
      return tf.sub(tf.mul(tf.neg(logSigmoid(bx)), 1 - eps), tf.mul(logSigmoid(tf.neg(bx)), eps)) as tf.Tensor1D;
    case 'robust':
      if (eps >= 0.5) throw new Error('robust DPO needs label_smoothing < 0.5');
      return tf.div(
        tf.add(tf.mul(tf.neg(logSigmoid(bx)), 1 - eps), tf.mul(logSigmoid(tf.neg(bx)), eps)),
        1 - 2 * eps,
      ) as tf.Tensor1D;
    case 'hinge':
      return tf.relu(tf.sub(1, bx)) as tf.Tensor1D;
    case 'ipo':
      return tf.square(tf.sub(x, 1 / (2 * beta))) as tf.Tensor1D;
    default:
      throw new Error(`unknown DPO loss type "${type as string}" (sigmoid, ipo, hinge, robust)`);
  }
}
