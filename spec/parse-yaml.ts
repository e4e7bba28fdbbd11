import { LineCounter, parseDocument } from 'yaml';
import type { Problem } from './problem.js';
import { SourceMap } from './source-map.js';

export interface ParsedYaml {
  /** The plain data, undefined when the text is not valid YAML. */
  data?: unknown;
  map?: SourceMap;
  problems: Problem[];
}

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
        return { file, line, col, message: `YAML syntax error: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}` };
      }),
    };
  }
  return { data: doc.toJS({ maxAliasCount: 1000 }), map: new SourceMap(doc, lines, text, file), problems: [] };
}
