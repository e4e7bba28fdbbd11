// The `bpoflow` command line. Each command lives in its own module; this file
// only declares them. Bad usage prints the usage and exits 2.
import { Command, CommanderError, Option } from 'commander';
import { stackCommands } from './stack-commands.js';
import { runCommands } from './run-commands.js';
import { artifactCommands } from './artifact-commands.js';
import { modelCommands } from './model-commands.js';
import { runWorker } from './worker.js';

export const USAGE_EXIT = 2;

function buildProgram(): Command {
  const program = new Command('bpoflow')
    .description('Declarative preference-alignment pipelines (BPO) on Temporal and S3')
    .version(process.env.npm_package_version ?? '0.1.0')
    .showHelpAfterError()
    .exitOverride();

  stackCommands(program);
  runCommands(program);
  artifactCommands(program);
  modelCommands(program);

  program
    .command('worker')
    .description('serve the workflow queue and step queues (one process; SIGINT/SIGTERM drain it)')
    .option('--queues <list>', 'comma-separated step queues to serve', 'cpu,gpu')
    .addOption(new Option('--backend <name>', 'tensor backend').choices(['auto', 'wasm', 'cpu', 'tensorflow']).default('auto'))
    .option('--concurrency <spec>', 'per-queue concurrent steps, e.g. cpu=2,gpu=1', '')
    .option('--no-workflows', 'serve step queues only (e.g. a GPU-only worker)')
    .action(async (opts: { queues: string; backend: 'auto' | 'wasm' | 'cpu' | 'tensorflow'; concurrency: string; workflows: boolean }) => {
      const concurrency: Record<string, number> = {};
      for (const part of opts.concurrency.split(',').filter(Boolean)) {
        const [q, n] = part.split('=');
        if (!q || !n || !/^[0-9]+$/.test(n)) throw new CommanderError(USAGE_EXIT, 'bpoflow.usage', `--concurrency: expected queue=N, got "${part}"`);
        concurrency[q] = Number(n);
      }
      await runWorker({ queues: opts.queues.split(',').filter(Boolean), backend: opts.backend, concurrency, workflows: opts.workflows });
    });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      if (err.code === 'bpoflow.usage') {
        process.stderr.write(`error: ${err.message}\n`);
        program.outputHelp({ error: true });
      }
      return USAGE_EXIT;
    }
    process.stderr.write(`bpoflow: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

// Exit explicitly: open client connections must not keep a finished command alive.
process.exit(await main(process.argv.slice(2)));
