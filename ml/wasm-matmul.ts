// A faster BatchMatMul kernel for tfjs-backend-wasm 4.22.
//
// The stock wasm kernel sends a matMul to XNNPACK only when it is a plain
// 2-D product: no transposeA/transposeB and a batch of one. Everything else
// (every matMul gradient, which sets the transpose flags, the tied LM head
// x·Wᵀ, and the batched attention products) runs a naive triple loop at
// 1–2.5 GFLOP/s instead of XNNPACK's 15–25. This kernel keeps every case on
// XNNPACK:
//   - a transposed operand is materialised once with the wasm Transpose
//     kernel (a copy, cheap next to the product);
//   - a batch runs as one 2-D XNNPACK product per batch element, on views
//     of the operands' wasm memory registered under temporary tensor ids, so
//     nothing is sliced or copied.
// Results equal the stock kernel's within float32 rounding (the summation
// order differs). Other backends are untouched: native TensorFlow handles the
// flags itself.
import * as tf from '@tensorflow/tfjs';
// Imported for its side effect: the wasm kernels must be registered before
// this module replaces one of them.
import '@tensorflow/tfjs-backend-wasm';

// The parts of BackendWasm (backend_wasm.ts) this kernel reads.
interface WasmModule {
  cwrap(name: string, ret: null, args: string[]): (...a: unknown[]) => void;
  tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
}
interface WasmBackend {
  wasm: WasmModule;
  dataIdNextNumber: number;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}
type KernelArgs = {
  inputs: tf.NamedTensorInfoMap;
  backend: WasmBackend;
  attrs: { transposeA: boolean; transposeB: boolean };
};

const stock = tf.getKernel('BatchMatMul', 'wasm');
const transposeKernel = tf.getKernel('Transpose', 'wasm');
if (!stock || !transposeKernel) throw new Error('tfjs-backend-wasm kernels BatchMatMul/Transpose are not registered');

let enabled = process.env.BPOFLOW_WASM_MATMUL !== 'stock';
/** Switch between this kernel and the stock one (the benchmark measures both in one run). */
export function useFastWasmMatMul(on: boolean): void {
  enabled = on;
}
export function fastWasmMatMulEnabled(): boolean {
  return enabled;
}

const raw = new WeakMap<WasmModule, (...a: unknown[]) => void>();
function wasmBatchMatMul(backend: WasmBackend): (...a: unknown[]) => void {
  let f = raw.get(backend.wasm);
  if (!f) {
    // a_id, a_shape, a_rank, b_id, b_shape, b_rank, transpose_a, transpose_b, out_id
    f = backend.wasm.cwrap('BatchMatMul', null, [
      'number',
      'array',
      'number',
      'number',
      'array',
      'number',
      'number',
      'number',
      'number',
    ]);
    raw.set(backend.wasm, f);
  }
  return f;
}

const shapeBytes = (s: number[]) => new Uint8Array(new Int32Array(s).buffer);

function batchMatMul(args: KernelArgs): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const a = inputs.a!;
  const b = inputs.b!;
  const { transposeA, transposeB } = attrs;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const K = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const N = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const Kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const batchA = a.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const batchB = b.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const plain = !transposeA && !transposeB && batchA === 1 && batchB === 1;
  // Batch dims must match exactly or one side must be a single matrix; any
  // other broadcast (rare, unused here) stays with the stock kernel.
  const simpleBroadcast =
    batchA === batchB ? a.shape.slice(0, -2).join() === b.shape.slice(0, -2).join() : batchA === 1 || batchB === 1;
  // The stock kernel also reports mismatched shapes.
  if (
    !enabled ||
    plain ||
    !simpleBroadcast ||
    K !== Kb ||
    a.dtype !== 'float32' ||
    b.dtype !== 'float32' ||
    M * N * K === 0
  ) {
    return stock!.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  }

  // Row-major [batch, M, K] and [batch, K, N] operands, transposing if flagged.
  const temps: tf.TensorInfo[] = [];
  const asRowMajor = (
    x: tf.TensorInfo,
    batch: number,
    rows: number,
    cols: number,
    transposed: boolean,
  ): tf.TensorInfo => {
    if (!transposed) return x;
    const t = transposeKernel!.kernelFunc({
      inputs: { x: { dataId: x.dataId, shape: [batch, cols, rows], dtype: x.dtype } },
      backend: backend as unknown as tf.KernelBackend,
      attrs: { perm: [0, 2, 1] },
    }) as tf.TensorInfo;
    temps.push(t);
    return t;
  };
  const a3 = asRowMajor(a, batchA, M, K, transposeA);
  const b3 = asRowMajor(b, batchB, K, N, transposeB);
  const batch = Math.max(batchA, batchB);
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = backend.makeOutput([...outer, M, N], 'float32');
  const run = wasmBatchMatMul(backend);
  const aInfo = backend.dataIdMap.get(a3.dataId);
  const bInfo = backend.dataIdMap.get(b3.dataId);
  const oInfo = backend.dataIdMap.get(out.dataId);
  const aShape = shapeBytes([1, M, K]);
  const bShape = shapeBytes([1, K, N]);
  // A view of `count` floats at element `at` of a tensor, under a fresh id.
  // dispose_data on it runs XNNPACK's cleanup for operators cached on that
  // id and frees nothing: the memory still belongs to the real tensor.
  const views: number[] = [];
  const view = (info: { memoryOffset: number }, at: number, count: number): number => {
    const id = backend.dataIdNextNumber++;
    backend.wasm.tfjs.registerTensor(id, count, info.memoryOffset + at * 4);
    views.push(id);
    return id;
  };
  try {
    for (let i = 0; i < batch; i++) {
      const aId = batchA === 1 ? aInfo.id : view(aInfo, i * M * K, M * K);
      // A shared right operand keeps its own id, so XNNPACK packs it once for the whole batch.
      const bId = batchB === 1 ? bInfo.id : view(bInfo, i * K * N, K * N);
      const oId = batch === 1 ? oInfo.id : view(oInfo, i * M * N, M * N);
      run(aId, aShape, 3, bId, bShape, 3, 0, 0, oId);
    }
  } finally {
    for (const id of views) backend.wasm.tfjs.disposeData(id);
    for (const t of temps) backend.disposeData(t.dataId);
  }
  return out;
}

tf.unregisterKernel('BatchMatMul', 'wasm');
// The stock setup binds the stock kernel's wasm function; keep it.
tf.registerKernel({
  kernelName: 'BatchMatMul',
  backendName: 'wasm',
  setupFunc: stock.setupFunc,
  kernelFunc: batchMatMul as unknown as tf.KernelFunc,
});
