// The `bpoflow` command line. Each command lives in its own module; this file
// only declares them. Bad usage prints the usage and exits 2.
import { Argument, Command, CommanderError, Option } from 'commander';
import { stackCommands } from './stack-commands.js';
import { runCommands } from './run-commands.js';
import { artifactCommands } from './artifact-commands.js';
import { modelCommands } from './model-commands.js';
import { scheduleCommands } from './schedule-commands.js';
import { resumeCommand } from './resume-command.js';
import { resolveStackHome, useStackHome } from '../infra/stack.js';
import { completionScript, SHELLS, type Shell } from './completion.js';
import { explain, USAGE_EXIT, usageError } from './errors.js';

export { USAGE_EXIT };

function buildProgram(): Command {
  const program = new Command('bpoflow')
    .description('Declarative preference-alignment pipelines (BPO) on Temporal and S3')
    .version(process.env.npm_package_version ?? '0.1.0')
    .showHelpAfterError()
    .exitOverride()
    // Global: accepted before or after any command. They are exported as the variables
    // they stand for, so everything below (and any process started from here) agrees.
    .option(
      '--home <dir>',
      'stack state dir (default: $BPOFLOW_HOME, else the nearest .bpoflow/ at or above the current directory, else ~/.local/state/bpoflow)',
    )
    .option(
      '--address <host:port>',
      'Temporal server (default: $TEMPORAL_ADDRESS, the Temporal config profile, else the local stack)',
    )
    .option('--namespace <name>', 'Temporal namespace (default: $TEMPORAL_NAMESPACE or default)')
    .hook('preAction', (cmd) => applyGlobalOptions(cmd.opts<GlobalOptions>()))
    // One prefix for every error, commander's own included; subcommands inherit this.
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'bpoflow: ')) });

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
    .addOption(
      new Option('--backend <name>', 'tensor backend').choices(['auto', 'wasm', 'cpu', 'tensorflow']).default('auto'),
    )
    .option('--concurrency <spec>', 'per-queue concurrent steps, e.g. cpu=4 (default: cpu=2,gpu=1)', '')
    .option('--no-workflows', 'serve step queues only (e.g. a GPU-only worker)')
    .action(
      async (opts: {
        queues: string;
        backend: 'auto' | 'wasm' | 'cpu' | 'tensorflow';
        concurrency: string;
        workflows: boolean;
      }) => {
        const concurrency: Record<string, number> = {};
        for (const part of opts.concurrency.split(',').filter(Boolean)) {
          const [q, n] = part.split('=');
          if (!q || !n || !/^[0-9]+$/.test(n)) throw usageError(`--concurrency: expected queue=N, got "${part}"`);
          concurrency[q] = Number(n);
        }
        // Loaded on use: the worker and server bring TensorFlow.js and every step kind; other commands need neither.
        const { runWorker } = await import('./worker.js');
        await runWorker({
          queues: opts.queues.split(',').filter(Boolean),
          backend: opts.backend,
          concurrency,
          workflows: opts.workflows,
        });
      },
    );
  program
    .command('serve')
    .description(
      'serve a model over an OpenAI-compatible HTTP API (POST /v1/chat/completions, GET /v1/models, GET /health)',
    )
    .argument('<model>', 'local model directory, s3:// model artifact or channel://<name>')
    .option('--port <n>', 'TCP port (0 = any free port)', (v) => Number(v), 8000)
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .option('--name <id>', "model id reported by the API (default: the model path's last segment)")
    .addOption(
      new Option('--backend <name>', 'tensor backend').choices(['auto', 'wasm', 'cpu', 'tensorflow']).default('auto'),
    )
    .option('--max-tokens-limit <n>', 'largest max_tokens a request may ask for', (v) => Number(v), 512)
    .option(
      '--api-key-file <file>',
      'file holding the API key clients must send (default: $BPOFLOW_SERVE_API_KEY); required beyond loopback',
    )
    .option('--max-concurrent <n>', 'requests in flight before 429', (v) => Number(v), 4)
    .option('--max-body-bytes <n>', 'largest request body before 413', (v) => Number(v), 1024 * 1024)
    .action(
      async (
        model: string,
        o: {
          port: number;
          host: string;
          name?: string;
          backend: 'auto' | 'wasm' | 'cpu' | 'tensorflow';
          maxTokensLimit: number;
          apiKeyFile?: string;
          maxConcurrent: number;
          maxBodyBytes: number;
        },
      ) => {
        if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)
          throw usageError(`--port: expected 0-65535, got "${o.port}"`);
        for (const [flag, v] of [
          ['--max-concurrent', o.maxConcurrent],
          ['--max-body-bytes', o.maxBodyBytes],
        ] as const) {
          if (!Number.isInteger(v) || v < 1) throw usageError(`${flag}: expected a positive integer, got "${v}"`);
        }
        const { runServe } = await import('./serve.js');
        await runServe({
          model,
          port: o.port,
          host: o.host,
          name: o.name,
          backend: o.backend,
          maxTokensLimit: o.maxTokensLimit,
          apiKeyFile: o.apiKeyFile,
          maxConcurrent: o.maxConcurrent,
          maxBodyBytes: o.maxBodyBytes,
        });
      },
    );
  program
    .command('completion')
    .description(
      'print a shell completion script: eval "$(bpoflow completion bash)" (zsh likewise; fish: bpoflow completion fish | source)',
    )
    .addArgument(new Argument('<shell>').choices(SHELLS))
    .action((shell: Shell) => void process.stdout.write(completionScript(program, shell)));
  return program;
}

interface GlobalOptions {
  home?: string;
  address?: string;
  namespace?: string;
}

function applyGlobalOptions(o: GlobalOptions): void {
  const home = resolveStackHome({ flag: o.home });
  useStackHome(home);
  process.env.BPOFLOW_HOME = home.home;
  if (o.address) process.env.TEMPORAL_ADDRESS = o.address;
  if (o.namespace) process.env.TEMPORAL_NAMESPACE = o.namespace;
}

/** The (sub)command that argv names, for its own usage text (global flags may come first). */
function commandOf(program: Command, argv: string[]): Command {
  let cmd = program;
  for (const word of argv) {
    const next = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (next) cmd = next;
  }
  return cmd;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
        return 0;
      if (err.code === 'bpoflow.usage') {
        process.stderr.write(`bpoflow: ${err.message}\n`);
        commandOf(program, argv).outputHelp({ error: true });
      }
      return USAGE_EXIT;
    }
    process.stderr.write(`bpoflow: ${explain(err)}\n`);
    return 1;
  }
}

// Exit explicitly: open client connections must not keep a finished command alive.
process.exit(await main(process.argv.slice(2)));
