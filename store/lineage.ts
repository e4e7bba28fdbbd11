/**
 * Lineage: an artifact and, recursively, every artifact it was derived from (its manifest's
 * `inputs`), down to raw inputs (plain objects or artifacts without inputs). Flags what no
 * longer matches what was consumed.
 */
import { ArtifactNotFoundError } from './errors.js';
import type { ArtifactKind, ArtifactManifest } from './manifest.js';
import type { ResolvedUri } from './reads.js';

export interface LineageNode {
  uri: string;
  sha256: string;
  kind: ArtifactKind | 'object';
  manifest?: ArtifactManifest;
  inputs: LineageNode[];
  /** The input no longer exists. */
  missing?: boolean;
  /** The input URI now holds different content than when it was consumed. */
  changed?: boolean;
  /** Already shown higher up (cycle guard). */
  cycle?: boolean;
}

export async function lineageOf(
  resolve: (uri: string) => Promise<ResolvedUri>,
  uri: string,
  maxDepth: number,
): Promise<LineageNode> {
  const seen = new Set<string>();
  /** `recorded`: the sha256 the consumer recorded for this input (none at the root). */
  const walk = async (u: string, recorded: string | undefined, depth: number): Promise<LineageNode> => {
    let r: ResolvedUri;
    try {
      r = await resolve(u);
    } catch (e) {
      if (e instanceof ArtifactNotFoundError && recorded)
        return { uri: u, sha256: recorded, kind: 'object', inputs: [], missing: true };
      throw e;
    }
    if (r.type === 'object') {
      const changed = !!recorded && !!r.sha256 && r.sha256 !== recorded;
      return {
        uri: r.uri,
        sha256: recorded ?? r.sha256 ?? '',
        kind: 'object',
        inputs: [],
        ...(changed ? { changed: true } : {}),
      };
    }
    const m = r.manifest;
    const node: LineageNode = { uri: r.uri, sha256: m.sha256, kind: m.kind, manifest: m, inputs: [] };
    if (recorded && recorded !== m.sha256) node.changed = true;
    const id = `${r.uri}@${m.sha256}`;
    if (seen.has(id) || depth >= maxDepth) return { ...node, cycle: true };
    seen.add(id);
    for (const inp of m.inputs) node.inputs.push(await walk(inp.uri, inp.sha256, depth + 1));
    return node;
  };
  return walk(uri, undefined, 0);
}
