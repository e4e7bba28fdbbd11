// `bpoflow artifacts ls | get | put | show | gc`.
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { ArtifactStore } from '../store/artifacts.js';
import { artifactsGc, artifactsGet, artifactsLs, artifactsPut, artifactsShow } from './artifacts.js';
import { outputFormat, printJson, withOutputOptions } from './output.js';
import { importModelFolder } from './model-import.js';

type OutputOpts = { output?: string; json?: boolean };

/**
 * Someone is waiting at the terminal: S3 outages are retried for 30 s (not the workers'
 * minutes) unless BPOFLOW_S3_RETRY_MS says otherwise, and each wait is reported.
 */
function cliStore(): ArtifactStore {
  return ArtifactStore.fromEnv(process.env, {
    resilience: {
      ...(process.env.BPOFLOW_S3_RETRY_MS ? {} : { retryBudgetMs: 30_000 }),
      onRetry: (n) => process.stderr.write(`bpoflow: S3 unavailable, retrying ${n.what}: ${n.error}\n`),
    },
  });
}

export function artifactCommands(program: Command): void {
  const artifacts = program
    .command('artifacts')
    .description('datasets, models, checkpoints and reports in the artifact store');
  withOutputOptions(
    artifacts
      .command('ls')
      .description('artifacts under a prefix: kind, size, date, URI')
      .argument('[prefix]', 'key prefix or s3:// URI', ''),
  ).action(async (prefix: string, opts: OutputOpts) => {
    if (outputFormat(opts) !== 'json')
      return void process.stdout.write(await artifactsLs(prefix, { store: cliStore() }));
    const entries = await cliStore().list(prefix, { details: true });
    printJson(
      entries.map((e) => ({
        uri: e.uri,
        kind: e.manifest?.kind ?? 'object',
        size: e.manifest?.size ?? e.size,
        sha256: e.manifest?.sha256 ?? null,
        lastModified: e.lastModified.toISOString(),
      })),
    );
  });
  artifacts
    .command('get')
    .description('download (verified against its hash); to stdout without PATH')
    .argument('<uri>')
    .argument('[path]')
    .action(async (uri: string, path?: string) => {
      const ref = await artifactsGet(uri, path, { store: cliStore() });
      if (path) process.stderr.write(`${ref.uri} -> ${path} (${ref.size} bytes, sha256 ${ref.sha256})\n`);
    });
  artifacts
    .command('put')
    .description('upload a file (content-addressed, with a manifest), or a Hugging Face model folder as a model bundle')
    .argument('<path>')
    .argument(
      '[uri]',
      'target (default s3://<bucket>/uploads/<name>; a model folder: s3://<bucket>/models/<hash>/<name>)',
    )
    .action(async (path: string, uri?: string) => {
      // The local side first, so a typo reads as a missing file rather than a failed upload.
      if (statSync(path).isDirectory()) {
        const r = await importModelFolder(cliStore(), path, { uri });
        return void process.stdout.write(`${r.uri} (model bundle: ${r.folder.files.join(', ')})\n`);
      }
      const ref = await artifactsPut(path, uri, { store: cliStore() });
      process.stdout.write(`${ref.uri} (${ref.size} bytes, sha256 ${ref.sha256})\n`);
    });
  withOutputOptions(artifacts.command('show').description('the manifest and its lineage').argument('<uri>')).action(
    async (uri: string, opts: OutputOpts) => {
      if (outputFormat(opts) !== 'json')
        return void process.stdout.write(await artifactsShow(uri, { store: cliStore() }));
      const store = cliStore();
      printJson({ manifest: await store.manifest(uri), lineage: await store.lineage(uri) });
    },
  );
  artifacts
    .command('gc')
    .description('remove orphaned blobs and abandoned uploads')
    .option('--dry-run', 'list what would be removed')
    .action(
      async (opts: { dryRun?: boolean }) =>
        void process.stdout.write((await artifactsGc({ store: cliStore(), dryRun: opts.dryRun })).text),
    );
}
