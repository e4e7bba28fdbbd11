import type { Scalar } from './expr-eval.js';
import { refsOf } from './expr-ast.js';
import { ExprSyntaxError } from './expr-parse.js';
import { substituteParams } from './fold.js';
import type { Finding } from './source-map.js';
import { hint } from './suggest.js';
import { hasExpression, parseTemplate } from './template.js';
import { at, type YamlPath } from './yaml-path.js';

/**
 * Execution settings decide how the run is laid out (its queues, fan-out and timeouts),
 * so they are fixed at submit: they may use `${{ params.x }}`, not step outputs. This
 * pass replaces such expressions by their values in the parsed document, before the
 * schema and the settings see it.
 */
const SETTINGS: YamlPath[] = [
  ['shards'],
  ['timeout'],
  ['heartbeatTimeout'],
  ['queue'],
  ['cache'],
  ['retry', 'maximumAttempts'],
  ['retry', 'initialInterval'],
  ['retry', 'maximumInterval'],
];

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `declared`: every param the pipeline declares; `params`: the values known now (validate may lack some). */
export function foldSettingParams(
  doc: Raw,
  declared: Set<string>,
  params: Record<string, Scalar>,
  findings: Finding[],
): void {
  const layers: { raw: unknown; path: YamlPath }[] = [{ raw: doc.defaults, path: ['defaults'] }];
  if (Array.isArray(doc.steps)) doc.steps.forEach((raw, i) => layers.push({ raw, path: ['steps', i] }));
  for (const { raw, path } of layers) {
    for (const setting of SETTINGS) {
      const parent = setting.slice(0, -1).reduce<unknown>((o, k) => (isObj(o) ? o[k as string] : undefined), raw);
      const key = setting[setting.length - 1] as string;
      if (!isObj(parent) || typeof parent[key] !== 'string' || !hasExpression(parent[key] as string)) continue;
      const where = [...path, ...setting];
      const value = foldOne(parent[key] as string, declared, params, where, findings);
      // Without a value (an error already reported, or a param `validate` has no value for),
      // the setting is left out, so the schema does not report the same place twice.
      if (value === undefined) delete parent[key];
      else parent[key] = value;
    }
  }
}

/** The folded value; undefined after a finding or when a declared param has no value yet. */
function foldOne(
  text: string,
  declared: Set<string>,
  params: Record<string, Scalar>,
  where: YamlPath,
  findings: Finding[],
): Scalar | undefined {
  let ast;
  try {
    ast = parseTemplate(text);
  } catch (e) {
    if (!(e instanceof ExprSyntaxError)) throw e;
    findings.push({ path: where, message: at(where, e.message) });
    return undefined;
  }
  for (const ref of refsOf(ast)) {
    if (ref.path[0] !== 'params') {
      findings.push({
        path: where,
        message: at(where, `only params can set this (it is fixed when the run is submitted), not ${ref.text}`),
      });
      return undefined;
    }
    const name = ref.path[1] ?? '';
    if (ref.path.length !== 2 || !declared.has(name)) {
      findings.push({ path: where, message: at(where, `unknown param "${name}"${hint(name, [...declared])}`) });
      return undefined;
    }
    if (!Object.hasOwn(params, name)) return undefined;
  }
  const folded = substituteParams(ast, params);
  return folded.t === 'lit' ? folded.value : undefined;
}
