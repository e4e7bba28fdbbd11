// The one argument reader: a step's `with`, checked against its kind's schema with the
// defaults filled in, exactly as the spec compiler does when it plans the run (ajv,
// useDefaults). The worker checks again because a task may come from elsewhere (an old
// plan, a test, a client): a kind never sees arguments its schema rejects.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { TObject } from './kind-schema.js';
import { BadInput, type RegisteredKind } from './step-kind.js';

const ajv = new Ajv2020({ useDefaults: true, allErrors: true, strict: false });
const validators = new WeakMap<TObject, ValidateFunction>();

/** The arguments `kind.run` is typed for (hence `never` here, where the kind is any kind). */
export function kindArgs(kind: RegisteredKind, raw: Record<string, unknown>): never {
  let validate = validators.get(kind.args);
  if (!validate) validators.set(kind.args, (validate = ajv.compile(kind.args)));
  const args = structuredClone(raw);
  if (!validate(args)) {
    const problems = (validate.errors ?? []).map((e) => {
      const extra = e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : '';
      return `with${e.instancePath.replaceAll('/', '.')} ${e.message ?? 'is invalid'}${extra}`;
    });
    throw new BadInput(`${kind.kind}@${kind.version}: ${[...new Set(problems)].join('; ')}`);
  }
  return args as never;
}
