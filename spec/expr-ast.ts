import type { Expr } from './plan.js';

/**
 * An expression as parsed, with source offsets (relative to the scalar's text) kept so
 * that type and reference errors can point at the exact token. Converted to the plan's
 * position-free `Expr` once checked.
 */
export type Ast =
  | { t: 'lit'; value: string | number | boolean | null; pos: number }
  | { t: 'ref'; path: string[]; pos: number; text: string }
  | { t: 'op'; op: '==' | '!=' | '<' | '<=' | '>' | '>=' | '&&' | '||'; args: [Ast, Ast]; pos: number }
  | { t: 'not'; arg: Ast; pos: number }
  | { t: 'concat'; parts: Ast[]; pos: number };

export function toExpr(a: Ast): Expr {
  switch (a.t) {
    case 'lit':
      return { lit: a.value };
    case 'ref':
      return { ref: a.path };
    case 'op':
      return { op: a.op, args: [toExpr(a.args[0]), toExpr(a.args[1])] };
    case 'not':
      return { op: '!', args: [toExpr(a.arg)] };
    case 'concat':
      return { concat: a.parts.map(toExpr) };
  }
}

export function* refsOf(a: Ast): Generator<Extract<Ast, { t: 'ref' }>> {
  switch (a.t) {
    case 'ref':
      yield a;
      return;
    case 'op':
      yield* refsOf(a.args[0]);
      yield* refsOf(a.args[1]);
      return;
    case 'not':
      yield* refsOf(a.arg);
      return;
    case 'concat':
      for (const p of a.parts) yield* refsOf(p);
      return;
    case 'lit':
      return;
  }
}
