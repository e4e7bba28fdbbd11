// Memory held by tensors on the current backend (for telemetry). On
// tfjs-node-gpu these bytes live on the GPU; elsewhere they are host memory.
import * as tf from '@tensorflow/tfjs';

export function tensorBytes(): number {
  return tf.memory().numBytes;
}
