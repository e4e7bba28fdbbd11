// What expressions can see while a run is in flight: params, inputs, and the
// outputs of the steps that have finished so far.
// (The compile-time counterpart, with types, is spec/compile-scope.ts.)
import type { RefLookup, Scalar } from '../spec/expr-eval.js';

export class RunScope {
  readonly stepOutputs: Record<string, Record<string, Scalar>> = {};

  constructor(
    private readonly params: Record<string, Scalar>,
    private readonly inputs: Record<string, string>,
  ) {}

  readonly lookup: RefLookup = (ref) => {
    const [root, name, section, output] = ref;
    if (root === 'params' && name !== undefined && name in this.params) return this.params[name]!;
    if (root === 'inputs' && name !== undefined && name in this.inputs) return this.inputs[name]!;
    if (root === 'steps' && name !== undefined && section === 'outputs' && output !== undefined) {
      const outputs = this.stepOutputs[name];
      if (outputs && output in outputs) return outputs[output]!;
      throw new Error(`\${{ ${ref.join('.')} }} is not available: step "${name}" did not produce it`);
    }
    throw new Error(`\${{ ${ref.join('.')} }} is not defined`);
  };
}
