// `bpoflow up | down | status`: the local stack of real services.
import type { Command } from 'commander';
import { describeHome, down, resolveStackHome, status, up, type StackState, type UpResult } from '../infra/stack.js';
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
  out.write(`State dir: ${describeHome()}\n`);
}

function upSummary(r: UpResult, ms: number): string {
  if (r.alreadyRunning) return 'The stack is already running; nothing changed.';
  if (r.kept.length)
    return `Started ${r.started.join(', ')} on its stored ports (${ms} ms); ${r.kept.join(', ')} kept running.`;
  return `The stack is up (${ms} ms).`;
}

export function stackCommands(program: Command): void {
  program
    .command('up')
    .description(
      'start the local stack (Temporal dev server with SQLite and UI, SeaweedFS S3), or whatever part of it is down',
    )
    .option('--temporal-port <port>', 'Temporal frontend port (default: the stored one, else 7233)', portOption)
    .option('--ui-port <port>', 'Temporal Web UI port (default: the stored one, else 8233)', portOption)
    .option('--s3-port <port>', 'S3 API port (default: the stored one, else 8333)', portOption)
    .option('--bucket <name>', 'artifact bucket (default: the stored one, else bpoflow)')
    .action(async (opts: { temporalPort?: number; uiPort?: number; s3Port?: number; bucket?: string }) => {
      const started = Date.now();
      const result = await up({
        ports: { temporal: opts.temporalPort, ui: opts.uiPort, s3: opts.s3Port },
        bucket: opts.bucket,
        log: (l) => process.stderr.write(l + '\n'),
      });
      process.stdout.write(upSummary(result, Date.now() - started) + '\n');
      printStack(result.state);
    });

  program
    .command('down')
    .description('stop the local stack, keeping its data and ports')
    .action(async () => {
      const stopped = await down();
      process.stdout.write(
        stopped.length
          ? `Stopped ${stopped.map((s) => `${s.name} (pid ${s.pid})`).join(', ')}; data kept in ${resolveStackHome().home}.\n`
          : `The stack in ${describeHome()} is not running.\n`,
      );
    });

  program
    .command('status')
    .argument('[run]', 'a run id: show its steps instead of the stack')
    .option('--json', 'machine-readable output')
    .description(
      "without RUN: the stack home, and each service with pid, address and health (a real S3 write and read; exit 1 if any is down); with RUN: the run's steps",
    )
    .action(async (run: string | undefined, opts: { json?: boolean }) => {
      if (run) return runStatus(run, opts);
      const home = resolveStackHome();
      const services = await status({ home: home.home });
      if (opts.json)
        process.stdout.write(
          JSON.stringify(
            services.map((s) => ({ ...s, home: home.home })),
            null,
            2,
          ) + '\n',
        );
      else {
        process.stdout.write(`stack     ${describeHome(home)}\n`);
        for (const s of services) {
          const health = !s.running ? 'down' : s.healthy ? 'healthy' : 'unhealthy';
          process.stdout.write(
            `${s.name.padEnd(9)} ${health.padEnd(10)} pid ${String(s.pid || '-').padEnd(8)} ${s.address}  log ${s.log}${s.detail ? `\n          ${s.detail}` : ''}\n`,
          );
        }
      }
      if (!services.every((s) => s.running && s.healthy)) process.exitCode = 1;
    });
}
