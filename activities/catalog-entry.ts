// A kind's catalog file (`pipelines/steps/<kind>@<version>.json`), made from its module:
// the schema editors and `bpoflow validate` read. `npm run catalog` writes them; a test
// fails when a committed file differs from what its module makes.
import type { RegisteredKind } from './step-kind.js';

export const catalogFileName = (k: RegisteredKind): string => `${k.kind}@${k.version}.json`;

export function catalogEntry(k: RegisteredKind): Record<string, unknown> {
  return {
    kind: k.kind,
    version: k.version,
    description: k.description,
    queue: k.queue,
    ...(k.shardable ? { shardable: k.shardable } : {}),
    args: k.args,
    outputs: k.outputs,
  };
}

/** The file's text; JSON.stringify drops TypeBox's symbol-keyed markers, leaving plain JSON Schema. */
export const catalogFileText = (k: RegisteredKind): string => `${JSON.stringify(catalogEntry(k), null, 2)}\n`;
