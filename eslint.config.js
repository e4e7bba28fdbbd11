// ESLint: the recommended JavaScript and TypeScript rules (syntax only, no type information, so `npm run check`
// stays fast), Temporal's rule for workflow code, and the layer rule. Layout is prettier's (.prettierrc.json).
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Which top-level folders each production folder may import. Data flows cli → spec → workflows → activities → ml,
// store; imports follow it, except that spec's pure plan model (Plan, expressions, canonical JSON) is read by the
// workflows and activities that run the plan, so spec sits below them. bench/ and test/ may import anything;
// production code never imports them.
const LAYERS = {
  cli: ['spec', 'workflows', 'activities', 'ml', 'store', 'formats', 'infra'],
  workflows: ['spec', 'activities'], // types only, but for the pure modules in WORKFLOW_SAFE
  activities: ['spec', 'ml', 'store', 'formats'],
  spec: ['ml'], // inputs.ts checks a model-folder input with ml/hf-folder.ts (file headers only, no tfjs)
  ml: [],
  store: ['formats'],
  formats: [], // dataset formats: pure parsing, read by store/ (datasets) and activities/ (the records' types)
  infra: [], // the local stack (cli's `up`/`down`) and the tool pins
};
const FOLDERS = [...Object.keys(LAYERS), 'bench', 'test'];

// TEMPORARY: imports the layer rule would refuse, kept until their module moves (none left).
const PENDING_MOVES = {};

// Packages a layer knows nothing of (its README).
const PACKAGES = {
  workflows: ['@temporalio/activity', '@temporalio/client', '@temporalio/worker', '@temporalio/envconfig', 'minio'],
  spec: ['@temporalio/*', 'minio', '@tensorflow/*'],
  ml: ['@temporalio/*', 'minio'],
  store: ['@temporalio/*', '@tensorflow/*'],
  formats: ['@temporalio/*', 'minio', '@tensorflow/*'],
};

// Modules outside workflows/ that workflow code imports as values; they enter the workflow bundle, so they
// import nothing but types.
const WORKFLOW_SAFE = ['spec/expr-eval.ts', 'activities/failures.ts'];

// Temporal's rule (samples-typescript): workflow code runs in a deterministic sandbox without Node's built-ins.
const sandbox = {
  paths: builtinModules
    .filter((name) => name !== 'assert')
    .flatMap((name) => [name, `node:${name}`])
    .map((name) => ({ name, message: 'Workflow code runs in Temporal’s sandbox: no Node built-ins.' })),
};

const inFolder = (name) => `**/${name}/**`;
const asImported = (file) => `**/${file.replace(/\.ts$/, '.js')}`;

function importRule(layer, options = {}) {
  const allowed = LAYERS[layer];
  const patterns = FOLDERS.filter((f) => f !== layer && !allowed.includes(f)).map((f) => ({
    group: [inFolder(f), ...(PENDING_MOVES[layer] ?? []).map((p) => `!${p}`)],
    message:
      f === 'bench' || f === 'test'
        ? 'Production code never imports bench/ or test/.'
        : `${layer}/ imports only from ${allowed.join(', ') || 'itself'} (eslint.config.js: LAYERS).`,
  }));
  if (layer === 'workflows') {
    // Types (activity signatures, the Plan) are erased by tsc; values would enter the workflow bundle.
    for (const f of allowed) {
      const safe = WORKFLOW_SAFE.filter((m) => m.startsWith(`${f}/`)).map((m) => `!${asImported(m)}`);
      patterns.push({
        group: [inFolder(f), ...safe],
        allowTypeImports: true,
        message: `Workflow code imports only types from ${f}/, but for the pure modules in WORKFLOW_SAFE.`,
      });
    }
  }
  for (const name of PACKAGES[layer] ?? []) {
    patterns.push({ group: [name], message: `${layer}/ knows nothing of ${name} (see its README).` });
  }
  return ['error', { ...options, patterns }];
}

const layerOf = (file) => file.split('/')[0];

export default defineConfig([
  { ignores: ['dist/', 'bench-results/', '.bpoflow/'] },
  {
    files: ['**/*.{js,mjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    rules: {
      // tsc reports these (noUnusedLocals, noUnusedParameters); one place says so.
      '@typescript-eslint/no-unused-vars': 'off',
      // Prettier wraps code but never comments, so the line limit is checked on comment lines.
      'max-len': ['error', { code: 120, ignoreUrls: true, ignorePattern: '^(?!\\s*(//|/\\*|\\*)).*' }],
    },
  },
  ...Object.keys(LAYERS).map((layer) => ({
    files: [`${layer}/**/*.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': importRule(layer, layer === 'workflows' ? sandbox : {}),
    },
  })),
  ...WORKFLOW_SAFE.map((file) => ({
    files: [file],
    rules: { '@typescript-eslint/no-restricted-imports': importRule(layerOf(file), sandbox) },
  })),
]);
