// The normalized plan: what `spec/` compiles a pipeline YAML into and what the
// workflow interprets. Pure JSON (no functions, no Dates) so it can travel as a
// Temporal payload; it holds artifact references only, never data.

/** A compiled expression. `${{ ... }}` in YAML becomes one of these. */
export type Expr =
  | { lit: string | number | boolean | null }
  | { ref: string[] } // e.g. ["params","beta"], ["steps","augment","outputs","pairs"], ["inputs","data"]
  | { op: '==' | '!=' | '<' | '<=' | '>' | '>=' | '&&' | '||'; args: [Expr, Expr] }
  | { op: '!'; args: [Expr] }
  | { concat: Expr[] }; // "prefix-${{ x }}-suffix"

/** A value in a step's `with`: plain JSON where no expression occurs, else an Expr wrapped as {"$expr": ...}. */
export type PlanValue = string | number | boolean | null | PlanValue[] | { [key: string]: PlanValue } | { $expr: Expr };

export interface RetryPolicy {
  maximumAttempts: number;
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  nonRetryableErrorTypes: string[];
}

export interface PlanStep {
  id: string;
  /** Step kind name, e.g. "dataset.stats". */
  kind: string;
  /** Step kind version, e.g. "v1". */
  version: string;
  /** Arguments; params are already substituted, step outputs are left as {$expr} for the workflow. */
  with: Record<string, PlanValue>;
  /** Explicit and implied (from expression references) dependencies, sorted. */
  needs: string[];
  /** Skip condition: the step runs only when this evaluates truthy. */
  if?: Expr;
  queue: string;
  retry: RetryPolicy;
  timeoutMs: number;
  heartbeatTimeoutMs: number;
  cache: boolean;
  /** 1 means no fan-out. */
  shards: number;
}

export interface Plan {
  apiVersion: 'bpoflow/v1';
  name: string;
  description?: string;
  /** sha256 (hex) of the normalized spec after param overrides. */
  specHash: string;
  /** Resolved params (defaults merged with overrides). */
  params: Record<string, string | number | boolean>;
  /** Named input artifacts, as s3:// URIs (local files were uploaded by the CLI). */
  inputs: Record<string, string>;
  /** Topologically sorted. */
  steps: PlanStep[];
  /** Pipeline outputs: name -> expression over steps' outputs. */
  outputs: Record<string, Expr>;
}
