import type { Catalog, CatalogEntry } from './catalog.js';
import { describeType, type ValueType } from './expr-types.js';
import { analyzeExpression, type ExprContext } from './expressions.js';
import type { PlanValue } from './plan.js';
import { schemaFindings } from './schema-errors.js';
import { hasExpression } from './template.js';
import { at, type YamlPath } from './yaml-path.js';

interface RuntimeExpr {
  /** Relative to `with`. */
  path: YamlPath;
  value: PlanValue;
  type: ValueType;
}

/**
 * Compiles a step's `with`: expressions become `{$expr}` (or plain values once params
 * are folded in), then the result is checked against the kind's args schema and the
 * schema's defaults are filled in, so two spellings of the same call hash the same.
 */
export function compileWith(
  raw: unknown,
  withPath: YamlPath,
  kind: CatalogEntry | undefined,
  catalog: Catalog,
  ctx: ExprContext,
): Record<string, PlanValue> {
  const runtime: RuntimeExpr[] = [];
  const walk = (v: unknown, rel: YamlPath): PlanValue => {
    if (typeof v === 'string' && hasExpression(v)) {
      const a = analyzeExpression(v, [...withPath, ...rel], ctx);
      if (!a) return null;
      if ('lit' in a.expr) return a.expr.lit;
      const value: PlanValue = { $expr: a.expr };
      runtime.push({ path: rel, value, type: a.type });
      return value;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...rel, i]));
    if (typeof v === 'object' && v !== null) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, [...rel, k])]));
    }
    return (v ?? null) as PlanValue;
  };
  const args =
    typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (walk(raw, []) as Record<string, PlanValue>) : {};
  if (!kind) return args;

  const id = `${kind.kind}@${kind.version}`;
  const validate = catalog.argsValidator(kind);
  const checked = structuredClone(args);
  if (!validate(checked)) {
    const isRuntime = (p: YamlPath) => runtime.some((r) => r.path.every((seg, i) => String(p[i]) === String(seg)));
    // Run-time values are unknown now; the schema's verdict on the {$expr} placeholder is meaningless.
    const relevant = (validate.errors ?? []).filter((e) => !isRuntime(e.instancePath.split('/').slice(1)));
    ctx.findings.push(...schemaFindings(relevant, checked, withPath, { keyNoun: 'argument', owner: ` for ${id}` }));
  }
  // What can be checked for run-time values is their static type against the argument's declared type.
  const props = (kind.args.properties ?? {}) as Record<string, { type?: string | string[] }>;
  for (const r of runtime) {
    if (r.path.length !== 1) continue;
    const declared = props[String(r.path[0])]?.type;
    if (!declared || r.type === 'unknown') continue;
    const wanted = ([] as string[]).concat(declared);
    const actual = r.type === 'artifact' ? 'string' : r.type;
    if (!wanted.includes(actual) && !(actual === 'number' && wanted.includes('integer'))) {
      const p = [...withPath, ...r.path];
      ctx.findings.push({
        path: p,
        message: at(p, `${id} expects ${wanted.join(' or ')}, but the expression is ${describeType(r.type)}`),
      });
    }
  }
  for (const r of runtime) setAt(checked, r.path, r.value); // defaults must not leak into {$expr} objects
  return checked;
}

function setAt(root: Record<string, PlanValue>, path: YamlPath, value: PlanValue): void {
  let node: unknown = root;
  for (const seg of path.slice(0, -1)) node = (node as Record<string, unknown>)[seg as string];
  (node as Record<string, unknown>)[path[path.length - 1] as string] = value;
}
