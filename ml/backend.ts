// Backend selection. The model code is backend-agnostic; this only decides
// where the kernels run and reports why, so a worker log explains the choice.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export type BackendPref = 'auto' | 'wasm' | 'cpu' | 'tensorflow';
export const BACKEND_PREFS: readonly BackendPref[] = ['auto', 'wasm', 'cpu', 'tensorflow'];
export interface BackendChoice {
  name: string;
  reason: string;
  /** Where the kernels run: "GPU <name>", or "CPU only: <why not a GPU>". */
  device: string;
}

let current: BackendChoice | null = null;

/**
 * The preference used when a caller names none: $BPOFLOW_BACKEND, else auto.
 * `bpoflow worker --backend X` sets it, so the steps it runs (and any process
 * they start) keep the worker's choice.
 */
export function defaultBackendPref(): BackendPref {
  const v = process.env.BPOFLOW_BACKEND;
  if (v === undefined || v === '') return 'auto';
  if (!(BACKEND_PREFS as readonly string[]).includes(v))
    throw new Error(`BPOFLOW_BACKEND=${v}: expected one of ${BACKEND_PREFS.join(', ')}`);
  return v as BackendPref;
}

// Native bindings are optional and never declared as dependencies (infra/native-tf.sh
// builds them and setup links them into node_modules): load by a computed specifier
// so neither tsc nor a bundler tries to resolve them.
class NativeUnavailable extends Error {
  constructor(
    message: string,
    /** Neither package is in node_modules (as opposed to present but failing to load). */
    readonly absent: boolean,
  ) {
    super(message);
  }
}

async function tryNative(): Promise<string> {
  // TensorFlow's C++ info/warning lines would flood worker logs; errors still show.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  // TF 2.9 ships PTX up to sm_80: newer GPUs JIT its kernels on first use; keep them cached.
  process.env.CUDA_CACHE_MAXSIZE ??= String(4 * 1024 ** 3);
  const errors: string[] = [];
  let absent = 0;
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      const spec: string = pkg;
      await import(spec);
      if (await tf.setBackend('tensorflow')) return pkg;
      errors.push(`${pkg}: loaded but backend 'tensorflow' failed to initialise`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && (e as Error).message.includes(pkg)) absent++;
      errors.push(`${pkg}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new NativeUnavailable(errors.join('; '), absent === 2);
}

async function tryWasm(): Promise<void> {
  // In Node the wasm binaries must be located on disk; point at the package's dist/.
  const require = createRequire(import.meta.url);
  const main = require.resolve('@tensorflow/tfjs-backend-wasm');
  let dir = path.dirname(main);
  while (path.basename(dir) !== 'dist' && dir !== path.dirname(dir)) dir = path.dirname(dir);
  setWasmPaths(dir + path.sep);
  if (!(await tf.setBackend('wasm'))) throw new Error("tf.setBackend('wasm') returned false");
}

/** GPU model names from the NVIDIA driver, [] when there is none. */
function nvidiaGpuNames(): string[] {
  const dir = '/proc/driver/nvidia/gpus';
  try {
    if (existsSync(dir)) {
      const names = readdirSync(dir).map(
        (d) => /^Model:\s*(.+)$/m.exec(readFileSync(path.join(dir, d, 'information'), 'utf8'))?.[1]?.trim() ?? '',
      );
      if (names.some(Boolean)) return names.filter(Boolean);
    }
    return execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], {
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
  } catch {
    return [];
  }
}

/** Why the GPU build of TensorFlow ended up on the CPU, as far as the host shows it. */
function whyNoGpu(): string {
  const visible = process.env.CUDA_VISIBLE_DEVICES;
  if (visible !== undefined && (visible.trim() === '' || visible.trim() === '-1'))
    return `CUDA_VISIBLE_DEVICES=${JSON.stringify(visible)} hides every GPU`;
  if (!existsSync('/proc/driver/nvidia/version') && nvidiaGpuNames().length === 0)
    return 'no NVIDIA driver on this host (libcuda.so.1 and /proc/driver/nvidia are missing)';
  return 'TensorFlow found no usable GPU although a driver is present (CUDA 11.2+ driver and a GPU of compute capability >= 3.5 needed; TF_CPP_MIN_LOG_LEVEL=0 shows its reason)';
}

function nativeDevice(pkg: string): string {
  // tfjs-node's kernel backend records whether its TensorFlow context placed ops on a GPU.
  const usingGpu = (tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
  if (usingGpu) return `GPU ${nvidiaGpuNames().join(', ') || '(name not reported by the driver)'}`;
  if (pkg === '@tensorflow/tfjs-node')
    return 'CPU only: @tensorflow/tfjs-node is the CPU build (infra/native-tf.sh --gpu builds @tensorflow/tfjs-node-gpu)';
  return `CPU only: ${whyNoGpu()}`;
}

export async function selectBackend(pref: BackendPref = defaultBackendPref()): Promise<BackendChoice> {
  // No caching: re-selecting is cheap (backends register once) and each
  // call then reports an accurate reason for its own preference.
  const notes: string[] = [];
  if (pref === 'tensorflow' || pref === 'auto') {
    try {
      const pkg = await tryNative();
      current = { name: 'tensorflow', reason: `native TensorFlow via ${pkg}`, device: nativeDevice(pkg) };
      return finish();
    } catch (e) {
      if (pref === 'tensorflow') notes.push(`tensorflow requested but unavailable (${(e as Error).message})`);
      else if (e instanceof NativeUnavailable && e.absent)
        notes.push('native tfjs-node not installed (bash infra/native-tf.sh --link builds it)');
      else notes.push(`native TensorFlow failed to load (${(e as Error).message})`);
    }
  }
  if (pref !== 'cpu') {
    try {
      await tryWasm();
      current = {
        name: 'wasm',
        reason: [...notes, pref === 'wasm' ? 'wasm requested' : 'wasm is the fastest available backend'].join('; '),
        device: 'CPU only: wasm runs on the CPU',
      };
      return finish();
    } catch (e) {
      notes.push(`wasm failed (${(e as Error).message})`);
    }
  }
  await tf.setBackend('cpu');
  current = {
    name: 'cpu',
    reason: [...notes, pref === 'cpu' ? 'cpu requested' : 'falling back to pure-JS cpu'].join('; '),
    device: 'CPU only: the pure-JS backend runs on the CPU',
  };
  return finish();
}

async function finish(): Promise<BackendChoice> {
  await tf.ready();
  return current!;
}

export function currentBackend(): BackendChoice | null {
  return current;
}
