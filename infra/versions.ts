// Reads infra/versions.env, the one place tool versions are pinned (shared with infra/tools.sh).
import { readFileSync } from 'node:fs';

/** The pins the TypeScript code reads; the file holds more (module paths) for infra/tools.sh. */
export interface ToolVersions {
  TEMPORAL_CLI_VERSION: string;
  SEAWEEDFS_VERSION: string;
}

export function readVersions(): ToolVersions {
  // This file runs as dist/infra/versions.js; versions.env sits in the source infra/.
  const file = new URL('../../infra/versions.env', import.meta.url);
  const pins = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) pins.set(m[1]!, m[2]!);
  }
  const pin = (key: keyof ToolVersions): string => {
    const version = pins.get(key);
    if (!version) throw new Error(`${file}: ${key} is not set`);
    return version;
  };
  return { TEMPORAL_CLI_VERSION: pin('TEMPORAL_CLI_VERSION'), SEAWEEDFS_VERSION: pin('SEAWEEDFS_VERSION') };
}
