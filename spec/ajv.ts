import { Ajv2020 } from 'ajv/dist/2020.js';

/**
 * Editor-only keywords (VS Code / yaml-language-server). Ajv's strict mode rejects
 * unknown keywords, which catches typos in schemas, so these are declared instead.
 */
const EDITOR_KEYWORDS = [
  'errorMessage',
  'patternErrorMessage',
  'markdownDescription',
  'defaultSnippets',
  'deprecationMessage',
];

/** Ajv configured the same way for the pipeline schema and every step kind's args schema. */
export function newAjv(options: { useDefaults?: boolean } = {}): Ajv2020 {
  const ajv = new Ajv2020({
    useDefaults: options.useDefaults ?? false,
    allErrors: true, // users fix everything in one edit cycle, not one error per run
    verbose: true, // the error mapper reads parentSchema for custom messages and known keys
    strictTypes: false,
    strictTuples: false,
    allowUnionTypes: true,
  });
  ajv.addVocabulary(EDITOR_KEYWORDS);
  return ajv;
}
