#!/usr/bin/env node
// The `bpoflow` command: runs the compiled CLI (npm run build writes dist/).
import { existsSync } from 'node:fs';
const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error(
    'bpoflow: dist/ is missing; run `npm ci && npm run build` in ' + new URL('..', import.meta.url).pathname,
  );
  process.exit(2);
}
await import(main.href);
