// Evaluation shared by the compiler (constant folding of params) and the workflow
// (run-time resolution of inputs and step outputs), so both agree on semantics.
// Pure: imports nothing with side effects, safe inside the Temporal workflow sandbox.
import type { Expr, PlanValue } from './plan.js';

export type Scalar = string | number | boolean | null;
/** Resolves a reference such as ["steps","a","outputs","n"]; throws if unknown. */
export type RefLookup = (ref: string[]) => Scalar;

/** JavaScript truthiness minus surprises: only false, null, 0, NaN and "" are falsy. */
export function truthy(v: Scalar): boolean {
  return !(v === false || v === null || v === 0 || v === '' || Number.isNaN(v));
}

/** How a value reads inside a string: null disappears, everything else as JSON would print it. */
export function stringify(v: Scalar): string {
  return v === null ? '' : String(v);
}

function compare(op: '<' | '<=' | '>' | '>=', a: Scalar, b: Scalar): boolean {
  const comparable =
    (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string');
  if (!comparable) return false;
  const x = a as number | string;
  const y = b as number | string;
  return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
}

export function evaluate(e: Expr, lookup: RefLookup): Scalar {
  if ('lit' in e) return e.lit;
  if ('ref' in e) return lookup(e.ref);
  if ('concat' in e) return e.concat.map((p) => stringify(evaluate(p, lookup))).join('');
  if (e.op === '!') return !truthy(evaluate(e.args[0], lookup));
  const [l, r] = e.args as [Expr, Expr];
  switch (e.op) {
    // Like GitHub Actions, && and || yield an operand, so `a || 'default'` works in `with`.
    case '&&': {
      const a = evaluate(l, lookup);
      return truthy(a) ? evaluate(r, lookup) : a;
    }
    case '||': {
      const a = evaluate(l, lookup);
      return truthy(a) ? a : evaluate(r, lookup);
    }
    case '==':
      return evaluate(l, lookup) === evaluate(r, lookup);
    case '!=':
      return evaluate(l, lookup) !== evaluate(r, lookup);
    default:
      return compare(e.op, evaluate(l, lookup), evaluate(r, lookup));
  }
}

export function isExprValue(v: PlanValue): v is { $expr: Expr } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && '$expr' in v;
}

/** Replaces every `{$expr}` in a step's `with` by its value. */
export function resolveValue(v: PlanValue, lookup: RefLookup): PlanValue {
  if (isExprValue(v)) return evaluate(v.$expr, lookup);
  if (Array.isArray(v)) return v.map((x) => resolveValue(x, lookup));
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolveValue(x as PlanValue, lookup)]));
  }
  return v;
}
