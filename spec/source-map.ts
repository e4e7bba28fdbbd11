import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair } from 'yaml';
import type { Problem } from './problem.js';
import type { YamlPath } from './yaml-path.js';

/** A problem found on the parsed value, not yet placed in the file. */
export interface Finding {
  path: YamlPath;
  message: string;
  /** Point at the mapping key rather than its value (unknown keys, missing keys of an object). */
  key?: boolean;
  /** Offset inside the string value (an expression's token). */
  offset?: number;
}

/**
 * Turns document paths into file positions. Paths that do not exist (a missing key,
 * a value hidden behind an alias) fall back to the nearest enclosing node that does.
 */
export class SourceMap {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly source: string,
    readonly file: string,
  ) {}

  problem(f: Finding): Problem {
    const { line, col } = this.lines.linePos(this.offsetOf(f));
    return { file: this.file, line, col, message: f.message };
  }

  private offsetOf(f: Finding): number {
    let node: Node | null | undefined = this.doc.contents as Node | null;
    let keyNode: Node | undefined;
    for (let i = 0; i < f.path.length; i++) {
      const seg = f.path[i]!;
      let next: Node | null | undefined;
      let nextKey: Node | undefined;
      if (isMap(node)) {
        const pair: Pair | undefined = (node.items as Pair[]).find(
          (p) => isScalar(p.key) && String(p.key.value) === String(seg),
        );
        if (pair) {
          nextKey = pair.key as Node;
          // `with:` with nothing after it has no value node; its key is the best spot.
          next = (pair.value as Node | null) ?? undefined;
          if (!next) return start(nextKey);
        }
      } else if (isSeq(node) && typeof seg === 'number') {
        next = node.items[seg] as Node | undefined;
      }
      if (!next) return start(keyNode ?? node);
      node = next;
      keyNode = nextKey;
    }
    if (f.key && keyNode) return start(keyNode);
    if (f.offset !== undefined && isScalar(node) && typeof node.value === 'string') {
      return this.offsetInScalar(node, node.value, f.offset);
    }
    return start(node);
  }

  /** Maps an offset in a string's value to the file, when quoting or folding lets us. */
  private offsetInScalar(node: Node, value: string, offset: number): number {
    const [begin, end] = node.range ?? [0, 0];
    const raw = this.source.slice(begin, end);
    if (raw === value) return begin + offset;
    if ((raw[0] === '"' || raw[0] === "'") && raw.slice(1, -1) === value) return begin + 1 + offset;
    const snippet = value.slice(offset).split('\n')[0]!.slice(0, 40);
    const found = snippet ? raw.indexOf(snippet) : -1;
    return found >= 0 ? begin + found : begin;
  }
}

function start(node: Node | null | undefined): number {
  return node?.range?.[0] ?? 0;
}
