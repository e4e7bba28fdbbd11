import { refsOf, toExpr, type Ast } from './expr-ast.js';
import type { Scalar } from './expr-eval.js';
import { ExprSyntaxError } from './expr-parse.js';
import { checkTypes, conditionProblem, typeOf, type ValueType } from './expr-types.js';
import { substituteParams } from './fold.js';
import type { Expr } from './plan.js';
import type { CompileScope } from './compile-scope.js';
import type { Finding } from './source-map.js';
import { parseCondition, parseTemplate } from './template.js';
import { at, type YamlPath } from './yaml-path.js';

export interface ExprContext {
  scope: CompileScope;
  params: Record<string, Scalar>;
  findings: Finding[];
  /** The step being compiled; undefined for pipeline `outputs`. */
  selfId?: string;
  /** Called for each step the expression reads, with the reference's position. */
  onStepRef?: (stepId: string, path: YamlPath, offset: number) => void;
}

export interface AnalyzedExpr {
  /** After params are substituted and constants folded: a `lit` when nothing is left for run time. */
  expr: Expr;
  /** Static type before folding (params keep their declared type). */
  type: ValueType;
}

/**
 * Parses, checks and folds one string value that contains `${{ }}` (or, for `if`, a bare
 * expression). Returns undefined when the text is broken; every defect is reported.
 */
export function analyzeExpression(
  text: string,
  path: YamlPath,
  ctx: ExprContext,
  mode: 'value' | 'condition' = 'value',
): AnalyzedExpr | undefined {
  let ast: Ast;
  try {
    ast = mode === 'condition' ? parseCondition(text) : parseTemplate(text);
  } catch (e) {
    if (!(e instanceof ExprSyntaxError)) throw e;
    ctx.findings.push({ path, offset: e.pos, message: at(path, `invalid expression: ${e.message}`) });
    return undefined;
  }
  let ok = true;
  const types = new Map<Ast, ValueType>();
  for (const ref of refsOf(ast)) {
    const r = ctx.scope.resolve(ref, ctx.selfId);
    types.set(ref, r.type);
    // Even a reference to a missing output names the step, so it still orders the graph (and can close a cycle).
    if (r.step) ctx.onStepRef?.(r.step, path, ref.pos);
    if (r.error) {
      ok = false;
      ctx.findings.push({ path, offset: ref.pos, message: at(path, r.error) });
    }
  }
  const refType = (ref: Ast) => types.get(ref) ?? 'unknown';
  const report = (pos: number, message: string) => {
    ok = false;
    ctx.findings.push({ path, offset: pos, message: at(path, message) });
  };
  checkTypes(ast, refType, report);
  if (mode === 'condition') {
    const why = conditionProblem(ast, refType);
    if (why) report(ast.pos, why);
  }
  if (!ok) return undefined;
  return { expr: toExpr(substituteParams(ast, ctx.params)), type: typeOf(ast, refType) };
}
