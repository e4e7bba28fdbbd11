// The `bpoflow` command line. Each command lives in its own module; this file
// only declares them. Bad usage prints the usage and exits 2.
import { Command, CommanderError, Option } from 'commander';
import { stackCommands } from './stack-commands.js';
import { runCommands } from './run-commands.js';
import { artifactCommands } from './artifact-commands.js';
import { modelCommands } from './model-commands.js';
import { scheduleCommands } from './schedule-commands.js';
import { resumeCommand } from './resume-command.js';

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
  scheduleCommands(program);
  resumeCommand(program);

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
      // Loaded on use: the worker and server bring TensorFlow.js and every step kind, which `status` and the other commands do not need.
      const { runWorker } = await import('./worker.js');
      await runWorker({ queues: opts.queues.split(',').filter(Boolean), backend: opts.backend, concurrency, workflows: opts.workflows });
    });
  program
    .command('serve')
    .description('serve a model over an OpenAI-compatible HTTP API (POST /v1/chat/completions, GET /v1/models, GET /health)')
    .argument('<model>', 'local model directory, s3:// model artifact or channel://<name>')
    .option('--port <n>', 'TCP port (0 = any free port)', (v) => Number(v), 8000)
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .option('--name <id>', 'model id reported by the API (default: the model path\'s last segment)')
    .addOption(new Option('--backend <name>', 'tensor backend').choices(['auto', 'wasm', 'cpu', 'tensorflow']).default('auto'))
    .option('--max-tokens-limit <n>', 'largest max_tokens a request may ask for', (v) => Number(v), 512)
    .action(async (model: string, o: { port: number; host: string; name?: string; backend: 'auto' | 'wasm' | 'cpu' | 'tensorflow'; maxTokensLimit: number }) => {
      if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new CommanderError(USAGE_EXIT, 'bpoflow.usage', `--port: expected 0-65535, got "${o.port}"`);
      const { runServe } = await import('./serve.js');
      await runServe({ model, port: o.port, host: o.host, name: o.name, backend: o.backend, maxTokensLimit: o.maxTokensLimit });
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
