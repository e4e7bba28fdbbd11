// What an expression may name while a pipeline compiles, and the type of each name
// (the run-time counterpart, with values, is workflows/run-scope.ts).
import type { CatalogEntry } from './catalog.js';
import type { Ast } from './expr-ast.js';
import type { ValueType } from './expr-types.js';
import type { ParamDef } from './params.js';
import { closest, hint } from './suggest.js';

export interface StepEntry {
  id: string;
  /** Position in the file's `steps` list. */
  index: number;
  /** Undefined when `uses` names no catalog kind (already reported); its outputs are then unchecked. */
  kind?: CatalogEntry;
}

export interface RefResolution {
  type: ValueType;
  /** The step whose output is referenced: the reference makes the current step need it. */
  step?: string;
  error?: string;
}

const ROOTS = ['params', 'inputs', 'steps'];
const REF_FORMS = 'params.<name>, inputs.<name> or steps.<id>.outputs.<name>';

/** Everything an expression may name, and the types of those names. */
export class CompileScope {
  constructor(
    readonly params: Map<string, ParamDef>,
    readonly inputs: Set<string>,
    readonly steps: Map<string, StepEntry>,
  ) {}

  /** `selfId` is the step being compiled, which cannot read its own outputs. */
  resolve(ref: Extract<Ast, { t: 'ref' }>, selfId?: string): RefResolution {
    const [root, name, third, fourth] = ref.path;
    const n = ref.path.length;
    const unknownType = { type: 'unknown' as const };
    if (root === 'params') {
      if (n !== 2) return { ...unknownType, error: `invalid reference "${ref.text}": use params.<name>` };
      const def = this.params.get(name!);
      if (!def) return { ...unknownType, error: `unknown param "${name}"${hint(name!, [...this.params.keys()])}` };
      return { type: def.type === 'integer' ? 'number' : def.type };
    }
    if (root === 'inputs') {
      if (n !== 2) return { ...unknownType, error: `invalid reference "${ref.text}": use inputs.<name>` };
      if (!this.inputs.has(name!))
        return { ...unknownType, error: `unknown input "${name}"${hint(name!, [...this.inputs])}` };
      return { type: 'artifact' };
    }
    if (root === 'steps') {
      if (n !== 4 || third !== 'outputs') {
        return { ...unknownType, error: `invalid reference "${ref.text}": use steps.<id>.outputs.<name>` };
      }
      const step = this.steps.get(name!);
      if (!step) return { ...unknownType, error: `unknown step "${name}"${hint(name!, [...this.steps.keys()])}` };
      if (name === selfId) return { ...unknownType, error: `step "${name}" cannot use its own outputs` };
      if (!step.kind) return { type: 'unknown', step: name };
      const out = step.kind.outputs[fourth!];
      if (!out) {
        const outputs = Object.keys(step.kind.outputs);
        const id = `${step.kind.kind}@${step.kind.version}`;
        const suffix = outputs.length === 0 ? ` (${id} has no outputs)` : hint(fourth!, outputs, 'outputs');
        return { type: 'unknown', step: name, error: `step "${name}" (${id}) has no output "${fourth}"${suffix}` };
      }
      return { type: out.type, step: name };
    }
    const guess = closest(root!, ROOTS);
    return {
      ...unknownType,
      error: guess
        ? `unknown name "${root}"; did you mean "${guess}"?`
        : `unknown name "${root}": expressions can use ${REF_FORMS}`,
    };
  }
}
