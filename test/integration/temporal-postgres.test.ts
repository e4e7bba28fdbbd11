// The production-like Temporal (infra/temporal-postgres): the real server on PostgreSQL.
// Runs setup.sh, run-pipeline.sh (worker + quickstart pipeline) and stop.sh on free ports
// in a temporary state dir, and checks the run completed on the Postgres-backed server.
// Opt-in: the first run builds the Temporal server from source (10+ minutes on 2 cores).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readVersions } from '../../infra/versions.js';
import { packageRoot } from '../../spec/package-root.js';

const enabled = process.env.BPOFLOW_TEST_POSTGRES === '1';
const skip = enabled
  ? false
  : 'set BPOFLOW_TEST_POSTGRES=1 to run it (builds the Temporal server from source once, 10+ min on 2 cores; needs Go and PostgreSQL or apt)';

const root = packageRoot();
const script = (name: string) => join(root, 'infra', 'temporal-postgres', name);

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A base port B with B..B+3, B+10 and B+100..B+103 free (the server's ports, see setup.sh), and a PostgreSQL port. */
async function freePorts(): Promise<{ temporal: number; pg: number }> {
  for (let i = 0; i < 100; i++) {
    // <= 32767 - 200: the server stores membership ports (base+100..) in a SMALLINT column.
    const base = 20000 + Math.floor(Math.random() * 12000);
    const ports = [
      base,
      base + 1,
      base + 2,
      base + 3,
      base + 10,
      base + 100,
      base + 101,
      base + 102,
      base + 103,
      base + 200,
    ];
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return { temporal: base, pg: base + 200 };
  }
  throw new Error('no free ports for the Postgres-backed Temporal');
}

interface Result {
  code: number;
  out: string;
}

function runScript(name: string, env: NodeJS.ProcessEnv, args: string[] = []): Promise<Result> {
  return new Promise((resolve) => {
    const proc = spawn('bash', [script(name), ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const collect = (d: Buffer) => {
      out += d.toString();
      process.stderr.write(d); // progress of a slow test (build, setup) stays visible
    };
    proc.stdout.on('data', collect);
    proc.stderr.on('data', collect);
    proc.on('exit', (c) => resolve({ code: c ?? 1, out }));
  });
}

function temporalCli(args: string[]): Promise<Result> {
  const bin =
    process.env.BPOFLOW_TEMPORAL_BIN ??
    join(
      process.env.BPOFLOW_TOOLS ?? join(homedir(), '.cache/bpoflow/tools'),
      `temporal-${readVersions().TEMPORAL_CLI_VERSION}`,
      'temporal',
    );
  return new Promise((resolve) => {
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    proc.on('exit', (c) => resolve({ code: c ?? 1, out }));
  });
}

describe('temporal-postgres: a pipeline on the Temporal server backed by PostgreSQL', () => {
  let env: NodeJS.ProcessEnv = {};
  let home = '';
  let stopped = false;
  let ok = false;

  after(async () => {
    if (!home) return;
    if (!stopped) await runScript('stop.sh', env);
    if (ok) rmSync(home, { recursive: true, force: true });
    else process.stderr.write(`[temporal-postgres] state and logs kept in ${home}\n`);
  });

  it('sets up, runs the quickstart pipeline to completion, and stops', { skip, timeout: 45 * 60_000 }, async () => {
    home = mkdtempSync(join(tmpdir(), 'bpoflow-tpg-'));
    chmodSync(home, 0o755); // as root, PostgreSQL runs as the postgres user, which must reach the state dir
    const ports = await freePorts();
    // The suite runs inside test/run.ts's stack: drop its Temporal/S3/catalog settings so the
    // scripts use their own (the Postgres-backed server and a private S3).
    env = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !/^(TEMPORAL_|BPOFLOW_S3_|BPOFLOW_UI_URL$|BPOFLOW_CATALOG_PATH$|BPOFLOW_KIND_MODULES$)/.test(k),
      ),
    );
    Object.assign(env, {
      BPOFLOW_HOME: home,
      BPOFLOW_TPG_PORT: String(ports.temporal),
      BPOFLOW_TPG_PG_PORT: String(ports.pg),
      BPOFLOW_SKIP_BUILD: '1', // the tests run from dist/, already built
    });
    const address = `127.0.0.1:${ports.temporal}`;

    const setup = await runScript('setup.sh', env);
    assert.equal(setup.code, 0, `setup.sh failed:\n${setup.out.slice(-4000)}`);
    assert.match(setup.out, /temporal-server SERVING/);

    const run = await runScript('run-pipeline.sh', env);
    assert.equal(run.code, 0, `run-pipeline.sh failed:\n${run.out.slice(-6000)}`);
    const m = /^RESULT run=(\S+) status=(\S+)/m.exec(run.out);
    assert.ok(m, `no RESULT line in:\n${run.out.slice(-3000)}`);
    const runId = m[1]!;
    assert.equal(m[2], 'COMPLETED');

    // Independently of the script: the run is in the Postgres-backed server's visibility store.
    const list = await temporalCli([
      'workflow',
      'list',
      '--address',
      address,
      '-n',
      'default',
      '--query',
      `WorkflowId = '${runId}'`,
    ]);
    assert.equal(list.code, 0, list.out);
    const line = list.out.split('\n').find((l) => l.includes(runId));
    assert.ok(line, `temporal workflow list has no ${runId}:\n${list.out}`);
    assert.match(line, /Completed/);

    const stop = await runScript('stop.sh', env);
    stopped = true;
    assert.equal(stop.code, 0, `stop.sh failed:\n${stop.out}`);
    const health = await temporalCli(['operator', 'cluster', 'health', '--address', address]);
    assert.notEqual(health.code, 0, 'the server still answers after stop.sh');
    ok = true;
  });
});
