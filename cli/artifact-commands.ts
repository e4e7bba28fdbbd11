// `bpoflow artifacts ls | get | put | show | gc`.
import type { Command } from 'commander';
import { ArtifactStore } from '../store/artifacts.js';
import { artifactsGc, artifactsGet, artifactsLs, artifactsPut, artifactsShow } from '../store/cli.js';

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
  const artifacts = program.command('artifacts').description('datasets, models, checkpoints and reports in the artifact store');
  artifacts
    .command('ls')
    .argument('[prefix]', 'key prefix or s3:// URI', '')
    .action(async (prefix: string) => void process.stdout.write(await artifactsLs(prefix, { store: cliStore() })));
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
    .argument('<path>')
    .argument('[uri]', 'target (default s3://<bucket>/uploads/<name>)')
    .action(async (path: string, uri?: string) => {
      const ref = await artifactsPut(path, uri, { store: cliStore() });
      process.stdout.write(`${ref.uri} (${ref.size} bytes, sha256 ${ref.sha256})\n`);
    });
  artifacts
    .command('show')
    .description('the manifest and its lineage')
    .argument('<uri>')
    .action(async (uri: string) => void process.stdout.write(await artifactsShow(uri, { store: cliStore() })));
  artifacts
    .command('gc')
    .description('remove orphaned blobs and abandoned uploads')
    .option('--dry-run', 'list what would be removed')
    .action(async (opts: { dryRun?: boolean }) => void process.stdout.write((await artifactsGc({ store: cliStore(), dryRun: opts.dryRun })).text));
}
