// The pipeline spec layer: YAML -> Plan. No Temporal, no S3, no network.
export type { Expr, Plan, PlanStep, PlanValue, RetryPolicy } from './plan.js';
export { Catalog, catalogDirsFromEnv, defaultCatalogDir, loadCatalog, type CatalogEntry, type OutputType } from './catalog.js';
export { compile, type CompileOptions, type CompileResult } from './compile.js';
export { validateFiles } from './validate.js';
export { formatProblem, sortProblems, type Problem } from './problem.js';
export { hashPlan } from './hash.js';
export { canonicalJson } from './canonical-json.js';
export { LOCAL_PREFIX, listLocalInputs, withInputUris } from './inputs.js';
export { evaluate, isExprValue, resolveValue, stringify, truthy, type RefLookup, type Scalar } from './expr-eval.js';
export { parseDuration } from './duration.js';
export {
  DEFAULT_CACHE,
  DEFAULT_HEARTBEAT_TIMEOUT_MS,
  DEFAULT_RETRY,
  DEFAULT_TIMEOUT_MS,
} from './step-settings.js';
export { pipelineSchemaPath } from './pipeline-schema.js';
export { packageRoot } from './package-root.js';
