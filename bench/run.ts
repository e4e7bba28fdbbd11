// `npm run bench`: every benchmark in one run, on a private stack, each writing
// JSON to bench-results/. `npm run bench -- engine store` picks some; `--quick` shrinks them.
// bpo-hh takes the HH-RLHF file as --hh=PATH (or BPOFLOW_HH_DATA) and --seeds=0,1,2; without data it skips.
// ml takes its own flags in --name=value form (see bench/ml.ts), e.g. `npm run bench -- ml --sizes=tiny,small`.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrivateStack } from '../infra/stack.js';
import { spawnWorker } from '../infra/worker-process.js';
import { connectClient } from '../cli/connect.js';
import { packageRoot } from '../spec/package-root.js';
import { ArtifactStore } from '../store/artifacts.js';
import { benchEngine } from './engine.js';
import { benchStore, benchStoreStreaming } from './store.js';
import { benchMl, parseMlArgs } from './ml.js';
import { benchWorkers } from './workers.js';
import { saveBenchResult } from './save.js';
import { testKindsEnv } from '../test/kinds/catalog.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const picked = args.filter((a) => !a.startsWith('--'));
const want = (name: string) => picked.length === 0 || picked.includes(name);
const outDir = join(packageRoot(), 'bench-results');
mkdirSync(outDir, { recursive: true });

function save(name: string, result: unknown): void {
  const file = saveBenchResult(name, result);
  console.log(`[bench] ${name} -> ${file}\n${JSON.stringify(result, null, 2)}`);
}

if (want('ml')) {
  const { opts } = parseMlArgs(args.filter((a) => a.startsWith('--') && !/^--(hh|seeds)=/.test(a)));
  const result = await benchMl({ ...opts, quick, log: (l) => console.log(`[bench:ml] ${l}`) });
  writeFileSync(join(outDir, 'ml.md'), result.table + '\n');
  save('ml', result);
}

if (want('engine') || want('store') || want('workers')) {
  const stack = await startPrivateStack(mkdtempSync(join(tmpdir(), 'bpoflow-bench-')));
  Object.assign(process.env, stack.env, testKindsEnv());
  try {
    if (want('store')) {
      const store = ArtifactStore.fromEnv();
      const checkpoint = await benchStore({ sizeMB: quick ? 32 : 256, store });
      save('store', { ...checkpoint, streaming: await benchStoreStreaming({ sizeMB: quick ? 128 : 1024, store }) });
    }
    if (want('engine')) {
      const worker = await spawnWorker(['--queues', 'cpu'], process.env);
      try {
        save(
          'engine',
          await benchEngine(await connectClient(), { steps: quick ? 20 : 100, roundTrips: quick ? 20 : 100 }),
        );
      } finally {
        await worker.stop();
      }
    }
    if (want('workers')) save('workers', await benchWorkers());
  } finally {
    await stack.stop();
  }
}
if (want('bpo')) {
  // bench/bpo.ts writes its own bpo.json (a stable shape other tools read), bpo.md and the README table.
  const { benchBpo, parseBpoArgs } = await import('./bpo.js');
  await benchBpo({ quick, ...parseBpoArgs(args), log: (l) => console.log(`[bench:bpo] ${l}`) });
}
if (want('bpo-hh')) {
  const { benchBpoHh, parseSeeds } = await import('./bpo-hh.js');
  const data = args.find((a) => a.startsWith('--hh='))?.slice('--hh='.length);
  const seeds = parseSeeds(args);
  // It saves bench-results/bpo-hh.json itself, after every seed.
  await benchBpoHh({
    quick,
    ...(data ? { data } : {}),
    ...(seeds ? { seeds } : {}),
    log: (l) => console.log(`[bench:bpo-hh] ${l}`),
  });
}
process.exit(0);
