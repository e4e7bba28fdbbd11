import type { Ast } from './expr-ast.js';
import { ExprSyntaxError, parseExpression } from './expr-parse.js';

/** Does the string use `${{ }}` at all? Strings without it are plain values. */
export function hasExpression(text: string): boolean {
  return text.includes('${{');
}

/** Offset of the `}}` closing an expression body starting at `from`, skipping quoted strings. */
function findClose(text: string, from: number): number {
  let quote: string | undefined;
  for (let i = from; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (quote === '"' && c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '}' && text[i + 1] === '}') return i;
  }
  return -1;
}

/**
 * Parses a string holding `${{ ... }}`. A string that is exactly one expression keeps
 * that expression (and so its type: `${{ params.beta }}` stays a number); text around
 * expressions makes a string concatenation.
 */
export function parseTemplate(text: string): Ast {
  const parts: Ast[] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('${{', i);
    if (open < 0) {
      parts.push({ t: 'lit', value: text.slice(i), pos: i });
      break;
    }
    if (open > i) parts.push({ t: 'lit', value: text.slice(i, open), pos: i });
    const close = findClose(text, open + 3);
    if (close < 0) throw new ExprSyntaxError('"${{" is never closed with "}}"', open);
    parts.push(parseExpression(text.slice(open + 3, close), open + 3));
    i = close + 2;
  }
  const whole = parts.length === 1 && parts[0]!.t !== 'lit';
  if (whole && text.slice(0, 3) === '${{' && text.endsWith('}}')) return parts[0]!;
  // Surrounding whitespace alone ("  ${{ x }} ") would otherwise force a string; YAML users don't mean that.
  const meaningful = parts.filter((p) => !(p.t === 'lit' && typeof p.value === 'string' && p.value.trim() === ''));
  if (meaningful.length === 1 && meaningful[0]!.t !== 'lit') return meaningful[0]!;
  return { t: 'concat', parts, pos: 0 };
}

/**
 * `if:` accepts `${{ expr }}` or, as in GitHub Actions, a bare expression.
 */
export function parseCondition(text: string): Ast {
  return hasExpression(text) ? parseTemplate(text) : parseExpression(text, 0);
}
