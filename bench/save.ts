// One benchmark's result as bench-results/NAME.json, in the envelope every benchmark shares.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../spec/package-root.js';

export const benchResultsDir = (): string => join(packageRoot(), 'bench-results');

/** Writes bench-results/NAME.json and returns its path. */
export function saveBenchResult(name: string, result: unknown): string {
  mkdirSync(benchResultsDir(), { recursive: true });
  const file = join(benchResultsDir(), `${name}.json`);
  const envelope = { benchmark: name, when: new Date().toISOString(), node: process.version, result };
  writeFileSync(file, JSON.stringify(envelope, null, 2) + '\n');
  return file;
}
