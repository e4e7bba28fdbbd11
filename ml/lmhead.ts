// The tied LM head and the log-probability of each target token, as one op
// with a hand-written gradient.
//
// Autodiff through logits → logSoftmax → one-hot pick keeps about ten
// [tokens, vocab] tensors alive at the backward pass; with GPT-2's 50k
// vocabulary at 8 × 256 tokens each is 412 MB and the step needed ~20 GB.
// Here the forward keeps only the logits, and the backward uses
//   d logp_i / d logits_i = onehot(t_i) − softmax(logits_i)
// with the one-hot part applied to rows (gather/scatter of W and h), never
// as a dense [tokens, vocab] tensor.
import * as tf from '@tensorflow/tfjs';

/**
 * out[r] += rows[i] for every i with ids[i] = r: the gradient of gathering
 * rows of a [n, C] table. wasm has no UnsortedSegmentSum, so there it is the
 * matmul oneHot(ids)ᵀ · rows.
 */
export function scatterAddRows(rows: tf.Tensor2D, ids: tf.Tensor1D, n: number): tf.Tensor2D {
  if (tf.getBackend() === 'wasm') return tf.matMul(tf.oneHot(ids, n).toFloat(), rows, true, false);
  return tf.unsortedSegmentSum(rows, ids, n);
}

type Save = (t: tf.Tensor[]) => void;

/** log p(targets[i] | h[i]), logits = h · Wᵀ, for h [N, C], W [V, C], targets int32 [N]. Differentiable in h and W. */
export function tokenLogps(h: tf.Tensor2D, w: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  const f = tf.customGrad(((hh: tf.Tensor2D, ww: tf.Tensor2D, t: tf.Tensor1D, save: Save) => {
    const [N] = hh.shape;
    const V = ww.shape[0];
    const logits = tf.matMul(hh, ww, false, true);
    const lse = tf.logSumExp(logits, 1);
    // The target logits, picked from the flat logits at i·V + t_i.
    const at = tf.add(tf.mul(tf.range(0, N, 1, 'int32'), tf.scalar(V, 'int32')), t);
    const picked = tf.gather(logits.reshape([N * V]), at);
    save([hh, ww, t, logits, lse]);
    return {
      value: tf.sub(picked, lse),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [h0, w0, t0, lg, ls] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D];
          const dcol = dy.reshape([N, 1]);
          // g = −softmax · dy, built with each [N, V] temporary freed as soon as it is used.
          const shifted = tf.sub(lg, ls.reshape([N, 1]));
          const p = tf.exp(shifted);
          shifted.dispose();
          const g = tf.mul(p, tf.neg(dcol)) as tf.Tensor2D;
          p.dispose();
          // dlogits = g + onehot·dy:  dh = dlogits·W,  dW = dlogitsᵀ·h.
          const dh = tf.add(tf.matMul(g, w0), tf.mul(tf.gather(w0, t0), dcol));
          const dw = tf.add(tf.matMul(g, h0, true, false), scatterAddRows(tf.mul(h0, dcol) as tf.Tensor2D, t0, V));
          return [dh, dw, tf.zerosLike(t0)];
        }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(h, w, targets) as tf.Tensor1D;
}
