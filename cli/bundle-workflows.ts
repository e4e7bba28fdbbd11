// Bundles the workflow code once at build time (npm run build), so workers start
// in a second instead of running webpack at every start.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

export const workflowsPath = () => fileURLToPath(new URL('../workflows/index.js', import.meta.url));
export const bundlePath = () => fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const { code } = await bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error } });
  writeFileSync(bundlePath(), code);
  console.log(`workflow bundle: ${bundlePath()} (${(code.length / 1024).toFixed(0)} KiB, ${Date.now() - started} ms)`);
}
