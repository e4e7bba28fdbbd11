import { existsSync, statSync } from 'node:fs';
import { inspectModelFolder } from '../ml/hf-folder.js';
import { dirname, resolve } from 'node:path';
import { hashPlan } from './hash.js';
import type { Plan } from './plan.js';
import type { Finding } from './source-map.js';
import { at } from './yaml-path.js';

/** Marks an input the CLI still has to upload; never reaches the workflow. */
export const LOCAL_PREFIX = 'local:';

/**
 * `uri` inputs pass through; `path` inputs become `local:<absolute path>`, resolved
 * against the YAML file's directory (not the shell's), so a pipeline runs the same from anywhere.
 * A path that is a folder must be a Hugging Face model folder (it is uploaded as a model bundle).
 */
export function resolveInputs(
  raw: unknown,
  yamlFile: string,
  checkLocalFiles: boolean,
  findings: Finding[],
): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return out;
  for (const [name, def] of Object.entries(raw as Record<string, unknown>)) {
    const d = (def ?? {}) as { uri?: unknown; path?: unknown };
    if (typeof d.uri === 'string' && d.path === undefined) out[name] = d.uri;
    else if (typeof d.path === 'string' && d.uri === undefined && d.path !== '') {
      const abs = resolve(dirname(resolve(yamlFile)), d.path);
      const where = ['inputs', name, 'path'];
      if (checkLocalFiles && !existsSync(abs)) {
        findings.push({ path: where, message: at(where, `file not found: ${abs}`) });
      } else if (checkLocalFiles && statSync(abs).isDirectory()) {
        // Reads config.json and the safetensors headers only, never the weights.
        try {
          inspectModelFolder(abs);
        } catch (e) {
          findings.push({
            path: where,
            message: at(where, `a folder input must be a model folder: ${(e as Error).message}`),
          });
        }
      }
      out[name] = `${LOCAL_PREFIX}${abs}`;
    }
  }
  return out;
}

/** Inputs the CLI must upload before submitting: name and absolute local path. */
export function listLocalInputs(plan: Plan): { name: string; path: string }[] {
  return Object.entries(plan.inputs)
    .filter(([, uri]) => uri.startsWith(LOCAL_PREFIX))
    .map(([name, uri]) => ({ name, path: uri.slice(LOCAL_PREFIX.length) }));
}

/**
 * The plan with uploaded inputs' URIs in place of their `local:` paths, and its hash
 * recomputed: the hash names what will run, which now includes where the data lives.
 */
export function withInputUris(plan: Plan, uris: Record<string, string>): Plan {
  for (const name of Object.keys(uris)) {
    if (!(name in plan.inputs)) throw new Error(`withInputUris: plan has no input "${name}"`);
  }
  const next: Plan = { ...plan, inputs: { ...plan.inputs, ...uris }, specHash: '' };
  next.specHash = hashPlan(next);
  return next;
}
