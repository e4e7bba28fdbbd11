import type { Ast } from './expr-ast.js';

export class ExprSyntaxError extends Error {
  constructor(
    message: string,
    /** Offset in the text handed to parseExpression, plus its `base`. */
    readonly pos: number,
  ) {
    super(message);
  }
}

type Token =
  | { k: 'num'; value: number; pos: number; text: string }
  | { k: 'str'; value: string; pos: number; text: string }
  | { k: 'ident'; value: string; pos: number; text: string }
  | { k: 'punct'; value: string; pos: number; text: string }
  | { k: 'end'; pos: number; text: string };

// Identifiers may contain "-" (as in GitHub Actions) so hyphenated step ids work in
// references; there is no arithmetic, hence no ambiguity with minus.
const IDENT = /[A-Za-z_][A-Za-z0-9_-]*/y;
const NUMBER = /-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const PUNCT = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '(', ')', '.'];
const LONE_CHAR_HINTS: Record<string, string> = { '=': '"=="', '&': '"&&"', '|': '"||"' };

function tokenize(src: string, base: number): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const pos = base + i;
    if (c === "'" || c === '"') {
      const { value, end } = readString(src, i, base);
      out.push({ k: 'str', value, pos, text: src.slice(i, end) });
      i = end;
      continue;
    }
    NUMBER.lastIndex = i;
    const num = NUMBER.exec(src);
    if (num) {
      out.push({ k: 'num', value: Number(num[0]), pos, text: num[0] });
      i += num[0].length;
      continue;
    }
    IDENT.lastIndex = i;
    const id = IDENT.exec(src);
    if (id) {
      out.push({ k: 'ident', value: id[0], pos, text: id[0] });
      i += id[0].length;
      continue;
    }
    const p = PUNCT.find((op) => src.startsWith(op, i));
    if (p) {
      out.push({ k: 'punct', value: p, pos, text: p });
      i += p.length;
      continue;
    }
    const hint = LONE_CHAR_HINTS[c];
    throw new ExprSyntaxError(hint ? `unexpected "${c}"; use ${hint}` : `unexpected character "${c}"`, pos);
  }
  out.push({ k: 'end', pos: base + src.length, text: '' });
  return out;
}

/** 'single' quotes double themselves to escape (as in GitHub Actions); "double" quotes use backslashes. */
function readString(src: string, start: number, base: number): { value: string; end: number } {
  const q = src[start]!;
  let value = '';
  let i = start + 1;
  while (i < src.length) {
    const c = src[i]!;
    if (c === q) {
      if (q === "'" && src[i + 1] === "'") {
        value += "'";
        i += 2;
        continue;
      }
      return { value, end: i + 1 };
    }
    if (q === '"' && c === '\\' && i + 1 < src.length) {
      const e = src[i + 1]!;
      value += e === 'n' ? '\n' : e === 't' ? '\t' : e;
      i += 2;
      continue;
    }
    value += c;
    i++;
  }
  throw new ExprSyntaxError('unterminated string', base + start);
}

/**
 * Parses the text between `${{` and `}}`. Precedence, loosest first:
 * `||`, `&&`, `== !=`, `< <= > >=`, `!`.
 */
export function parseExpression(src: string, base = 0): Ast {
  const toks = tokenize(src, base);
  if (toks.length === 1) throw new ExprSyntaxError('empty expression', base);
  let i = 0;
  const peek = () => toks[i]!;
  const isPunct = (v: string) => peek().k === 'punct' && peek().text === v;
  const describe = (t: Token) => (t.k === 'end' ? 'the end of the expression' : `"${t.text}"`);

  const binary = (ops: string[], next: () => Ast) => (): Ast => {
    let left = next();
    while (peek().k === 'punct' && ops.includes(peek().text)) {
      const t = toks[i++]!;
      const right = next();
      left = { t: 'op', op: t.text as Extract<Ast, { t: 'op' }>['op'], args: [left, right], pos: left.pos };
    }
    return left;
  };

  const primary = (): Ast => {
    const t = toks[i]!;
    if (t.k === 'num') return (i++, { t: 'lit', value: t.value, pos: t.pos });
    if (t.k === 'str') return (i++, { t: 'lit', value: t.value, pos: t.pos });
    if (t.k === 'ident') {
      i++;
      if (t.value === 'true' || t.value === 'false') return { t: 'lit', value: t.value === 'true', pos: t.pos };
      if (t.value === 'null') return { t: 'lit', value: null, pos: t.pos };
      const path = [t.value];
      while (isPunct('.')) {
        i++;
        const seg = toks[i]!;
        if (seg.k !== 'ident')
          throw new ExprSyntaxError(`expected a name after "." but found ${describe(seg)}`, seg.pos);
        path.push(seg.value);
        i++;
      }
      return { t: 'ref', path, pos: t.pos, text: path.join('.') };
    }
    if (isPunct('(')) {
      i++;
      const inner = or();
      if (!isPunct(')')) throw new ExprSyntaxError(`expected ")" but found ${describe(peek())}`, peek().pos);
      i++;
      return inner;
    }
    throw new ExprSyntaxError(`expected a value but found ${describe(t)}`, t.pos);
  };
  const unary = (): Ast => {
    if (isPunct('!')) {
      const pos = toks[i++]!.pos;
      return { t: 'not', arg: unary(), pos };
    }
    return primary();
  };
  const rel = binary(['<', '<=', '>', '>='], unary);
  const eq = binary(['==', '!='], rel);
  const and = binary(['&&'], eq);
  const or = binary(['||'], and);

  const ast = or();
  if (peek().k !== 'end') throw new ExprSyntaxError(`unexpected ${describe(peek())}`, peek().pos);
  return ast;
}
