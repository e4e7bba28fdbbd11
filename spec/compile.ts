import type { Catalog, CatalogEntry } from './catalog.js';
import type { Scalar } from './expr-eval.js';
import { analyzeExpression, type ExprContext } from './expressions.js';
import { findCycles, topoSort } from './graph.js';
import { hashPlan } from './hash.js';
import { resolveInputs } from './inputs.js';
import { paramDefs, resolveParams } from './params.js';
import { parseYaml } from './parse-yaml.js';
import { checkPipelineSchema } from './pipeline-schema.js';
import type { Expr, Plan, PlanStep } from './plan.js';
import { sortProblems, type Problem } from './problem.js';
import { CompileScope, type StepEntry } from './compile-scope.js';
import type { Finding } from './source-map.js';
import { resolveSettings } from './step-settings.js';
import { hint } from './suggest.js';
import { hasExpression } from './template.js';
import { compileWith } from './with-args.js';
import { foldSettingParams } from './setting-params.js';
import { at, formatPath, type YamlPath } from './yaml-path.js';

export interface CompileOptions {
  /** Shown in problems; relative `path` inputs resolve against its directory. */
  file: string;
  catalog: Catalog;
  /** `--set k=v` values; strings are converted to each param's type. */
  overrides?: Record<string, string | number | boolean>;
  /** Values from a params file (already typed). Overridden by `overrides`. */
  paramsFile?: Record<string, unknown>;
  /** Default true. False for `validate`, where params without a default need no value. */
  requireParams?: boolean;
  /** Default true: report `path` inputs whose file does not exist. */
  checkLocalFiles?: boolean;
}

export interface CompileResult {
  /** Present only when there are no problems. */
  plan?: Plan;
  /** Every problem found, sorted by position. */
  problems: Problem[];
}

type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Raw) : {});
const USES = /^([a-z][a-z0-9.-]*)@(v[0-9]+)$/;
const STEP_ID = /^[a-z][a-z0-9_-]*$/;

/** A dependency edge and where the file creates it, to place cycle reports. */
interface Edge {
  from: string;
  to: string;
  at: Finding;
}

/**
 * YAML text -> Plan. Each pass (syntax, schema, names, references, types, graph) runs
 * even when an earlier one found problems, on whatever parts are well-formed, so a
 * single run reports everything that is wrong.
 */
export function compile(yamlText: string, opts: CompileOptions): CompileResult {
  const parsed = parseYaml(yamlText, opts.file);
  if (!parsed.map) return { problems: parsed.problems };
  const doc = obj(parsed.data);

  // Params first: step settings may use them, and must be plain values by the time the schema looks.
  const defs = paramDefs(doc.params);
  const params = resolveParams(defs, {
    paramsFile: opts.paramsFile,
    overrides: opts.overrides,
    requireAll: opts.requireParams !== false,
  });
  const findings: Finding[] = [];
  foldSettingParams(doc, new Set(defs.keys()), params.values, findings);
  findings.push(...checkPipelineSchema(parsed.data), ...params.findings);
  const inputs = resolveInputs(doc.inputs, opts.file, opts.checkLocalFiles !== false, findings);

  const rawSteps = Array.isArray(doc.steps) ? doc.steps.map(obj) : [];
  const steps = registerSteps(rawSteps, opts.catalog, findings);
  const scope = new CompileScope(defs, new Set(Object.keys(obj(doc.inputs))), steps);

  const edges: Edge[] = [];
  const planSteps = new Map<string, PlanStep>();
  rawSteps.forEach((raw, index) => {
    const entry = [...steps.values()].find((s) => s.index === index);
    const step = compileStep(raw, index, entry, doc, scope, params.values, opts.catalog, findings, edges);
    if (step && entry) planSteps.set(step.id, step);
  });
  const outputs = compileOutputs(doc.outputs, scope, params.values, findings);

  const ids = [...steps.keys()];
  const needs = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const e of edges) needs.get(e.from)?.push(e.to);
  for (const cycle of findCycles(ids, needs)) {
    const edge = edges.find((e) => e.from === cycle[0] && e.to === cycle[1])!;
    const text = cycle
      .slice(0, -1)
      .map((id, i) => `${id} needs ${cycle[i + 1]}`)
      .join(', ');
    findings.push({ ...edge.at, message: at(edge.at.path, `dependency cycle: ${text}`) });
  }

  const problems = sortProblems([...parsed.problems, ...findings.map((f) => parsed.map!.problem(f))]);
  if (problems.length > 0) return { problems };
  const order = topoSort(ids, needs)!;
  const meta = obj(doc.metadata);
  const plan: Plan = {
    apiVersion: 'bpoflow/v1',
    name: String(meta.name),
    ...(typeof doc.description === 'string' ? { description: doc.description } : {}),
    specHash: '',
    params: params.values,
    inputs,
    steps: order.map((id) => planSteps.get(id)!),
    outputs,
  };
  plan.specHash = hashPlan(plan);
  return { plan, problems: [] };
}

/** Ids and kinds of all steps, so references can be checked regardless of file order. */
function registerSteps(rawSteps: Raw[], catalog: Catalog, findings: Finding[]): Map<string, StepEntry> {
  const steps = new Map<string, StepEntry>();
  rawSteps.forEach((raw, index) => {
    const kind = lookupKind(raw.uses, ['steps', index, 'uses'], catalog, findings);
    if (typeof raw.id !== 'string' || !STEP_ID.test(raw.id)) return;
    const first = steps.get(raw.id);
    if (first) {
      const p: YamlPath = ['steps', index, 'id'];
      findings.push({
        path: p,
        message: at(p, `duplicate step id "${raw.id}"; ${formatPath(['steps', first.index])} already uses it`),
      });
      return;
    }
    steps.set(raw.id, { id: raw.id, index, kind });
  });
  return steps;
}

function lookupKind(uses: unknown, path: YamlPath, catalog: Catalog, findings: Finding[]): CatalogEntry | undefined {
  const m = typeof uses === 'string' ? USES.exec(uses) : null;
  if (!m) return undefined; // the schema explains the expected form
  const [, name, version] = m as unknown as [string, string, string];
  const kind = catalog.get(name, version);
  if (kind) return kind;
  const versions = catalog.versionsOf(name);
  const message =
    versions.length > 0
      ? `${name}@${version}: unknown version (known: ${versions.join(', ')})`
      : `unknown step kind "${name}"${hint(name, catalog.kindNames())}`;
  findings.push({ path, message: at(path, message) });
  return undefined;
}

function compileStep(
  raw: Raw,
  index: number,
  entry: StepEntry | undefined,
  doc: Raw,
  scope: CompileScope,
  params: Record<string, Scalar>,
  catalog: Catalog,
  findings: Finding[],
  edges: Edge[],
): PlanStep | undefined {
  const stepPath: YamlPath = ['steps', index];
  // Steps with a broken or duplicate id are still checked, but add no edges to the graph.
  const id = entry?.id;
  const addEdge = (to: string, f: Finding) => {
    if (id && to !== id) edges.push({ from: id, to, at: f });
  };
  const ctx: ExprContext = {
    scope,
    params,
    findings,
    selfId: typeof raw.id === 'string' ? raw.id : undefined,
    onStepRef: (to, path, offset) => addEdge(to, { path, offset, message: '' }),
  };

  const explicit: string[] = [];
  const needsList = typeof raw.needs === 'string' ? [raw.needs] : Array.isArray(raw.needs) ? raw.needs : [];
  needsList.forEach((need, j) => {
    if (typeof need !== 'string' || !STEP_ID.test(need)) return;
    const p: YamlPath = typeof raw.needs === 'string' ? [...stepPath, 'needs'] : [...stepPath, 'needs', j];
    if (need === raw.id) findings.push({ path: p, message: at(p, `step "${need}" cannot need itself`) });
    else if (!scope.steps.has(need))
      findings.push({ path: p, message: at(p, `unknown step "${need}"${hint(need, [...scope.steps.keys()])}`) });
    else {
      explicit.push(need);
      addEdge(need, { path: p, message: '' });
    }
  });

  let condition: Expr | undefined;
  if (typeof raw.if === 'boolean') condition = { lit: raw.if };
  else if (typeof raw.if === 'string')
    condition = analyzeExpression(raw.if, [...stepPath, 'if'], ctx, 'condition')?.expr;

  const kind = entry?.kind ?? lookupKindQuietly(raw.uses, catalog);
  const args = compileWith(raw.with, [...stepPath, 'with'], kind, catalog, ctx);
  const settings = resolveSettings(raw, stepPath, obj(doc.defaults), kind, findings);
  if (kind && settings.shards > 1 && !kind.shardable) {
    const p: YamlPath = [...stepPath, 'shards'];
    findings.push({
      path: p,
      message: at(p, `${kind.kind}@${kind.version} is not shardable; remove "shards" or use 1`),
    });
  }
  if (!id || !kind) return undefined;
  const implied = edges.filter((e) => e.from === id).map((e) => e.to);
  return {
    id,
    kind: kind.kind,
    version: kind.version,
    with: args,
    needs: [...new Set([...explicit, ...implied])].sort(),
    // An `if` that params settle to true is no condition at all; false is kept so the run shows the skip.
    ...(condition && !('lit' in condition && condition.lit === true) ? { if: condition } : {}),
    ...settings,
  };
}

/** For a step whose id is broken: still check its `with` against the kind, without re-reporting the kind. */
function lookupKindQuietly(uses: unknown, catalog: Catalog): CatalogEntry | undefined {
  const m = typeof uses === 'string' ? USES.exec(uses) : null;
  return m ? catalog.get(m[1]!, m[2]!) : undefined;
}

function compileOutputs(
  raw: unknown,
  scope: CompileScope,
  params: Record<string, Scalar>,
  findings: Finding[],
): Record<string, Expr> {
  const out: Record<string, Expr> = {};
  const ctx: ExprContext = { scope, params, findings };
  for (const [name, v] of Object.entries(obj(raw))) {
    if (typeof v === 'string' && hasExpression(v)) {
      const a = analyzeExpression(v, ['outputs', name], ctx);
      if (a) out[name] = a.expr;
    } else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[name] = { lit: v };
  }
  return out;
}
