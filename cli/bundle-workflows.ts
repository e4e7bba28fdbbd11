// Bundles the workflow code once at build time (npm run build), so workers start
// in a second instead of running webpack at every start. The bundle is rebuilt only
// when its inputs changed: the compiled modules the workflows import, and the lockfile.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

export const workflowsPath = () => fileURLToPath(new URL('../workflows/index.js', import.meta.url));
export const bundlePath = () => fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));
const inputsStampPath = () => `${bundlePath()}.inputs`;

/** The compiled files reachable from `entry` by relative imports (type-only imports are gone from the JS). */
function reachableModules(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(file, 'utf8');
    const specifiers = code.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g);
    for (const m of specifiers) visit(resolve(dirname(file), m[1]!));
  };
  visit(entry);
  return [...seen].sort();
}

/** One hash over the bundle's inputs: every reachable module (path and bytes) and the lockfile (the npm packages). */
function inputsHash(): string {
  const h = createHash('sha256');
  for (const file of reachableModules(workflowsPath())) h.update(`${file}\0`).update(readFileSync(file)).update('\0');
  h.update(readFileSync(fileURLToPath(new URL('../../package-lock.json', import.meta.url))));
  return h.digest('hex');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const hash = inputsHash();
  const stamp = existsSync(inputsStampPath()) ? readFileSync(inputsStampPath(), 'utf8') : undefined;
  const upToDate = existsSync(bundlePath()) && stamp === hash;
  if (upToDate) console.log(`workflow bundle: ${bundlePath()} is up to date (${Date.now() - started} ms)`);
  else {
    const logger = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error };
    const { code } = await bundleWorkflowCode({ workflowsPath: workflowsPath(), logger });
    writeFileSync(bundlePath(), code);
    writeFileSync(inputsStampPath(), hash);
    const kib = (code.length / 1024).toFixed(0);
    console.log(`workflow bundle: ${bundlePath()} (${kib} KiB, ${Date.now() - started} ms)`);
  }
}
