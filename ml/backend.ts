// Backend selection. The model code is backend-agnostic; this only decides
// where the kernels run and reports why, so a worker log explains the choice.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';

export type BackendPref = 'auto' | 'wasm' | 'cpu' | 'tensorflow';
export interface BackendChoice {
  name: string;
  reason: string;
}

let current: BackendChoice | null = null;

// Native bindings are optional and never declared as dependencies: load by a
// computed specifier so neither tsc nor a bundler tries to resolve them.
async function tryNative(): Promise<string | null> {
  const errors: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      const spec: string = pkg;
      await import(spec);
      if (await tf.setBackend('tensorflow')) return pkg;
      errors.push(`${pkg}: loaded but backend 'tensorflow' failed to initialise`);
    } catch (e) {
      errors.push(`${pkg}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(errors.join('; '));
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

export async function selectBackend(pref: BackendPref = 'auto'): Promise<BackendChoice> {
  // No caching: re-selecting is cheap (backends register once) and each
  // call then reports an accurate reason for its own preference.
  const notes: string[] = [];
  if (pref === 'tensorflow' || pref === 'auto') {
    try {
      const pkg = await tryNative();
      current = { name: 'tensorflow', reason: `native TensorFlow via ${pkg}` };
      return finish();
    } catch (e) {
      if (pref === 'tensorflow') notes.push(`tensorflow requested but unavailable (${(e as Error).message})`);
      else notes.push('native tfjs-node not installed');
    }
  }
  if (pref !== 'cpu') {
    try {
      await tryWasm();
      current = { name: 'wasm', reason: [...notes, pref === 'wasm' ? 'wasm requested' : 'wasm is the fastest available backend'].join('; ') };
      return finish();
    } catch (e) {
      notes.push(`wasm failed (${(e as Error).message})`);
    }
  }
  await tf.setBackend('cpu');
  current = { name: 'cpu', reason: [...notes, pref === 'cpu' ? 'cpu requested' : 'falling back to pure-JS cpu'].join('; ') };
  return finish();
}

async function finish(): Promise<BackendChoice> {
  await tf.ready();
  return current!;
}

export function currentBackend(): BackendChoice | null {
  return current;
}
