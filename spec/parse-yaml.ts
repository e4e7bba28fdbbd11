import { isAlias, isCollection, isPair, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { Problem } from './problem.js';
import { SourceMap } from './source-map.js';

export interface ParsedYaml {
  /** The plain data, undefined when the text is not valid YAML. */
  data?: unknown;
  map?: SourceMap;
  problems: Problem[];
}

/** Aliases a document may expand before it is treated as an alias bomb ("billion laughs"). */
export const MAX_ALIAS_COUNT = 1000;

/**
 * Parses with source positions kept. On a syntax error the tree is a best guess by the
 * parser, so nothing further is checked: it would mostly report the guess's artifacts.
 */
export function parseYaml(text: string, file: string): ParsedYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { keepSourceTokens: true, lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        return {
          file,
          line,
          col,
          message: `YAML syntax error: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
        };
      }),
    };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    // The yaml library throws a bare ReferenceError (no position) for an alias bomb or an
    // alias used before its anchor; name the alias so it reads like every other problem.
    if (!(err instanceof ReferenceError)) throw err;
    const offset = aliasAt(doc, err.message) ?? 0;
    const { line, col } = lines.linePos(offset);
    const message = /Excessive alias count/.test(err.message)
      ? `YAML aliases expand beyond the limit of ${MAX_ALIAS_COUNT} (a "billion laughs" alias bomb?); use fewer aliases`
      : `YAML error: ${err.message}`;
    return { problems: [{ file, line, col, message }] };
  }
  return { data, map: new SourceMap(doc, lines, text, file), problems: [] };
}

/**
 * The source offset of the alias that made `toJS` throw, found by replaying the yaml
 * library's own accounting (yaml 2.x `toJS` and `Alias.resolve`): each alias adds one use of its
 * anchor, and an anchor's weight is the largest weight of the aliases inside it; the
 * walk is in document order, like `toJS`.
 */
function aliasAt(doc: Document, message: string): number | undefined {
  const anchors = new Map<string, { node: Node; count: number; weight: number }>();
  const excessive = /Excessive alias count/.test(message);
  let found: number | undefined;
  const weightOf = (node: unknown): number => {
    if (isAlias(node)) {
      const a = anchors.get(node.source);
      return a ? a.count * a.weight : 0;
    }
    if (isCollection(node))
      return (node.items as unknown[]).reduce<number>((m, item) => Math.max(m, weightOf(item)), 0);
    if (isPair(node)) return Math.max(weightOf(node.key), weightOf(node.value));
    return 1;
  };
  const walk = (node: unknown): void => {
    if (found !== undefined || node === null || typeof node !== 'object') return;
    if (isPair(node)) {
      walk(node.key);
      walk(node.value);
      return;
    }
    if (isAlias(node)) {
      const a = anchors.get(node.source);
      if (!a) {
        if (!excessive) found = node.range?.[0];
        return;
      }
      a.count += 1;
      if (a.weight === 0) a.weight = weightOf(a.node); // lazily, at first use, as the library does
      if (a.count * a.weight > MAX_ALIAS_COUNT) found = node.range?.[0];
      return;
    }
    const n = node as Node;
    // toJS registers an anchor (as used once) before converting its node's contents.
    if ((isCollection(n) || isScalar(n)) && n.anchor) anchors.set(n.anchor, { node: n, count: 1, weight: 0 });
    if (isCollection(n)) for (const item of n.items) walk(item);
  };
  walk(doc.contents);
  return found;
}
