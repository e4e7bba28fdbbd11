// `bpoflow up | down | status`: the local stack of real services.
import type { Command } from 'commander';
import { down, status, up, stackHome, type StackState } from '../infra/stack.js';
import { runStatus } from './run-commands.js';

const portOption = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`not a port: ${v}`);
  return n;
};

function printStack(state: StackState, out = process.stdout): void {
  out.write(`Temporal:  ${state.temporalAddress}\n`);
  out.write(`UI:        ${state.uiUrl}\n`);
  out.write(`S3:        ${state.s3Endpoint} (bucket ${state.bucket})\n`);
  out.write(`State dir: ${state.home}\n`);
}

export function stackCommands(program: Command): void {
  program
    .command('up')
    .description('start the local stack: Temporal dev server (SQLite, UI) and SeaweedFS S3')
    .option('--temporal-port <port>', 'Temporal frontend port', portOption)
    .option('--ui-port <port>', 'Temporal Web UI port', portOption)
    .option('--s3-port <port>', 'S3 API port', portOption)
    .option('--bucket <name>', 'artifact bucket', 'bpoflow')
    .action(async (opts: { temporalPort?: number; uiPort?: number; s3Port?: number; bucket: string }) => {
      const started = Date.now();
      const ports = Object.fromEntries(
        Object.entries({ temporal: opts.temporalPort, ui: opts.uiPort, s3: opts.s3Port }).filter(([, v]) => v !== undefined),
      );
      const { state, alreadyRunning } = await up({ ports, bucket: opts.bucket, log: (l) => process.stderr.write(l + '\n') });
      process.stdout.write(alreadyRunning ? 'The stack is already running; nothing changed.\n' : `The stack is up (${Date.now() - started} ms).\n`);
      printStack(state);
    });

  program
    .command('down')
    .description('stop the local stack, keeping its data')
    .action(async () => {
      const stopped = await down();
      process.stdout.write(stopped.length ? `Stopped ${stopped.map((s) => `${s.name} (pid ${s.pid})`).join(', ')}; data kept in ${stackHome()}.\n` : 'The stack is not running.\n');
    });

  program
    .command('status')
    .argument('[run]', 'a run id: show its steps instead of the stack')
    .option('--json', 'machine-readable output')
    .description('without RUN: each service with pid, address and health (exit 1 if any is down); with RUN: the run\'s steps')
    .action(async (run: string | undefined, opts: { json?: boolean }) => {
      if (run) return runStatus(run, opts);
      const services = await status();
      if (opts.json) process.stdout.write(JSON.stringify(services, null, 2) + '\n');
      else
        for (const s of services) {
          const health = !s.running ? 'down' : s.healthy ? 'healthy' : 'unhealthy';
          process.stdout.write(`${s.name.padEnd(9)} ${health.padEnd(10)} pid ${String(s.pid || '-').padEnd(8)} ${s.address}  log ${s.log}\n`);
        }
      if (!services.every((s) => s.running && s.healthy)) process.exitCode = 1;
    });
}
