import type { Ast } from './expr-ast.js';

/** Static types of expression values; `unknown` (e.g. outputs of an unknown kind) silences checks. */
export type ValueType = 'string' | 'number' | 'boolean' | 'null' | 'artifact' | 'unknown';

export type RefType = (ref: Extract<Ast, { t: 'ref' }>) => ValueType;
export type Report = (pos: number, message: string) => void;

/** Artifacts are URIs at run time, so they compare like strings. */
const family = (t: ValueType) => (t === 'artifact' ? 'string' : t);

const ARTICLE: Record<ValueType, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'a boolean',
  null: 'null',
  artifact: 'an artifact',
  unknown: 'unknown',
};

function show(a: Ast): string {
  if (a.t === 'ref') return a.text;
  if (a.t === 'lit') return typeof a.value === 'string' ? `'${a.value.replace(/'/g, "''")}'` : String(a.value);
  return 'the expression';
}

export function typeOf(a: Ast, refType: RefType): ValueType {
  switch (a.t) {
    case 'lit':
      return a.value === null ? 'null' : (typeof a.value as 'string' | 'number' | 'boolean');
    case 'ref':
      return refType(a);
    case 'concat':
      return 'string';
    case 'not':
      return 'boolean';
    case 'op':
      if (a.op === '&&' || a.op === '||') {
        const l = typeOf(a.args[0], refType);
        return l === typeOf(a.args[1], refType) ? l : 'unknown';
      }
      return 'boolean';
  }
}

/** Reports comparisons that can never be true as the author meant (a number against a string, …). */
export function checkTypes(a: Ast, refType: RefType, report: Report): void {
  if (a.t === 'not') return checkTypes(a.arg, refType, report);
  if (a.t === 'concat') return a.parts.forEach((p) => checkTypes(p, refType, report));
  if (a.t !== 'op') return;
  checkTypes(a.args[0], refType, report);
  checkTypes(a.args[1], refType, report);
  if (a.op === '&&' || a.op === '||') return;
  const [l, r] = a.args;
  const lt = typeOf(l, refType);
  const rt = typeOf(r, refType);
  if (lt === 'unknown' || rt === 'unknown') return;
  const ordering = a.op !== '==' && a.op !== '!=';
  if (ordering) {
    const badSide = (
      [
        [l, lt],
        [r, rt],
      ] as const
    ).find(([, t]) => t === 'boolean' || t === 'null');
    if (badSide) {
      report(
        badSide[0].pos,
        `"${a.op}" compares numbers or strings, but ${show(badSide[0])} is ${ARTICLE[badSide[1]]}`,
      );
      return;
    }
  }
  if (family(lt) !== family(rt) && (ordering || (lt !== 'null' && rt !== 'null'))) {
    report(l.pos, `cannot compare ${show(l)} (${ARTICLE[lt]}) with ${show(r)} (${ARTICLE[rt]})`);
  }
}

/** `if:` must decide something: a comparison, a logical operator, or a boolean value. */
export function conditionProblem(a: Ast, refType: RefType): string | undefined {
  if (a.t === 'op' || a.t === 'not') return undefined;
  const t = typeOf(a, refType);
  if (t === 'boolean' || t === 'unknown') return undefined;
  return `must be a boolean expression, but ${show(a)} is ${ARTICLE[t]}`;
}

export function describeType(t: ValueType): string {
  return ARTICLE[t];
}
