import type { Ast } from './expr-ast.js';
import { toExpr } from './expr-ast.js';
import { evaluate, stringify, type Scalar } from './expr-eval.js';

/**
 * Substitutes params (known at submit time) and folds whatever became constant, so the
 * plan carries plain values where it can and the workflow only resolves run-time refs.
 */
export function substituteParams(a: Ast, params: Record<string, Scalar>): Ast {
  switch (a.t) {
    case 'lit':
      return a;
    case 'ref':
      if (a.path[0] === 'params' && a.path.length === 2 && Object.hasOwn(params, a.path[1]!)) {
        return { t: 'lit', value: params[a.path[1]!]!, pos: a.pos };
      }
      return a;
    case 'not': {
      const arg = substituteParams(a.arg, params);
      return foldIfConstant({ ...a, arg });
    }
    case 'op': {
      const args: [Ast, Ast] = [substituteParams(a.args[0], params), substituteParams(a.args[1], params)];
      return foldIfConstant({ ...a, args });
    }
    case 'concat': {
      const parts = mergeConstantRuns(a.parts.map((p) => substituteParams(p, params)));
      return foldIfConstant({ ...a, parts });
    }
  }
}

/** "v-${{ params.n }}/${{ steps.a.outputs.x }}" -> ["v-5/", ref]: fewer parts for the workflow to walk. */
function mergeConstantRuns(parts: Ast[]): Ast[] {
  const out: Ast[] = [];
  for (const p of parts) {
    const prev = out[out.length - 1];
    if (p.t === 'lit' && prev?.t === 'lit') {
      out[out.length - 1] = { t: 'lit', value: stringify(prev.value) + stringify(p.value), pos: prev.pos };
    } else out.push(p);
  }
  return out;
}

function isConstant(a: Ast): boolean {
  switch (a.t) {
    case 'lit':
      return true;
    case 'ref':
      return false;
    case 'not':
      return isConstant(a.arg);
    case 'op':
      return isConstant(a.args[0]) && isConstant(a.args[1]);
    case 'concat':
      return a.parts.every(isConstant);
  }
}

function foldIfConstant(a: Ast): Ast {
  if (!isConstant(a)) return a;
  return { t: 'lit', value: evaluate(toExpr(a), () => null), pos: a.pos };
}
