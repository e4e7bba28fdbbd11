// Reads infra/versions.env, the one place tool versions are pinned (shared with infra/tools.sh).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../spec/package-root.js';

export function readVersions(): Record<string, string> {
  const text = readFileSync(join(packageRoot(), 'infra', 'versions.env'), 'utf8');
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}
