// The local stack across restarts and partial failures, each on a stack of its own:
// SeaweedFS keeps its master state (no frozen volume growth after up/down/up/down/up),
// `up` on a half-dead stack starts only what is down, on its stored ports, a hung S3
// write makes `status` unhealthy, and the state dir is private (0700 dirs, 0600 files).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  down,
  freePort,
  isAlive,
  readCredentials,
  readStackState,
  s3Client,
  type StackState,
} from '../../infra/stack.js';
import { bpoflowBin } from '../../infra/worker-process.js';

/** The CLI with only what it needs from the environment: no TEMPORAL_* or BPOFLOW_S3_* of the test stack. */
export async function cli(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
  timeoutMs = 120_000,
): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    ...opts.env,
  };
  for (const k of ['BPOFLOW_TOOLS', 'BPOFLOW_TEMPORAL_BIN', 'BPOFLOW_WEED_BIN'])
    if (process.env[k] && !(k in env)) env[k] = process.env[k]!;
  const started = Date.now();
  const proc = spawn(process.execPath, [bpoflowBin(), ...args], {
    cwd: opts.cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number>((resolve) => proc.on('exit', (c) => resolve(c ?? 124)));
  clearTimeout(timer);
  return { code, stdout, stderr, ms: Date.now() - started };
}

async function publicPorts(): Promise<string[]> {
  return [
    '--temporal-port',
    String(await freePort()),
    '--ui-port',
    String(await freePort()),
    '--s3-port',
    String(await freePort()),
  ];
}

const s3Pid = (home: string) => readStackState(home)!.services.find((s) => s.name === 's3')!.pid;
const temporalPid = (home: string) => readStackState(home)!.services.find((s) => s.name === 'temporal')!.pid;

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    process.kill(pid, 'SIGKILL');
  }
}

async function waitDead(pid: number): Promise<void> {
  for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(!isAlive(pid), `pid ${pid} is still alive`);
}

describe('SeaweedFS keeps its master state across restarts', () => {
  const home = mkdtempSync(join(tmpdir(), 'bpoflow-restarts-'));
  const env = { BPOFLOW_HOME: home, BPOFLOW_S3_STATE_LOSS_RECOVERY_WAIT: '5s' };
  after(async () => {
    await down({ home });
    rmSync(home, { recursive: true, force: true });
  });

  test(
    'up, down, up, down, up: then writes succeed, even one that needs new volumes, with no frozen growth',
    { timeout: 10 * 60_000 },
    async () => {
      const first = await cli(['up', ...(await publicPorts())], { env });
      assert.equal(first.code, 0, first.stderr);
      const internal = readStackState(home)!.internalPorts;
      assert.ok(internal, 'the internal ports are stored');
      const file = join(home, 'probe.txt');
      writeFileSync(file, 'before the restarts\n');
      const put = await cli(['artifacts', 'put', file, 's3://bpoflow/test/before.txt'], { env }, 30_000);
      assert.equal(put.code, 0, put.stderr);

      const ups: number[] = [];
      for (let i = 0; i < 2; i++) {
        const d = await cli(['down'], { env });
        assert.equal(d.code, 0, d.stderr);
        const u = await cli(['up'], { env }); // no ports given: the stored ones
        assert.equal(u.code, 0, u.stderr);
        ups.push(u.ms);
        assert.deepEqual(readStackState(home)!.internalPorts, internal, 'the SeaweedFS ports did not change');
      }
      console.log(`# up after a restart took ${ups.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')}`);

      writeFileSync(file, 'after two restarts\n');
      const put2 = await cli(['artifacts', 'put', file, 's3://bpoflow/test/after.txt'], { env }, 30_000);
      assert.equal(put2.code, 0, `the write after two restarts: ${put2.stderr}`);
      for (const [key, text] of [
        ['before', 'before the restarts\n'],
        ['after', 'after two restarts\n'],
      ]) {
        const got = await cli(['artifacts', 'get', `s3://bpoflow/test/${key}.txt`], { env }, 30_000);
        assert.equal(got.code, 0, got.stderr);
        assert.equal(got.stdout, text);
      }
      // A new bucket is a new SeaweedFS collection: its first write must grow volumes, which
      // is exactly what a frozen master refuses (the write then hangs).
      assert.equal(await writeToNewBucket(home, 20_000), 'hello after restarts');
      const status = await cli(['status'], { env });
      assert.equal(status.code, 0, status.stdout);
      assert.match(status.stdout, /^s3 +healthy/m);
      assert.doesNotMatch(readFileSync(join(home, 'logs', 's3.log'), 'utf8'), /volume growth (is )?frozen/);
    },
  );

  test(
    'if the master state is lost anyway, volume growth resumes after the recovery wait (5 s here)',
    { timeout: 5 * 60_000 },
    async () => {
      const { master } = readStackState(home)!.internalPorts!;
      assert.equal((await cli(['down'], { env })).code, 0);
      rmSync(join(home, 's3', 'data', `m${master}`), { recursive: true, force: true });
      const u = await cli(['up'], { env });
      assert.equal(u.code, 0, u.stderr);
      const log = join(home, 'logs', 's3.log');
      for (let i = 0; i < 60 && !/volume growth frozen/.test(readFileSync(log, 'utf8')); i++) await sleep(500);
      assert.match(readFileSync(log, 'utf8'), /volume growth frozen: a volume server reports topology id/);
      await sleep(6_000); // past the freeze window
      assert.equal(await writeToNewBucket(home, 30_000), 'hello after restarts');
      assert.match(readFileSync(log, 'utf8'), /volume growth unfrozen after 5s/);
    },
  );
});

/** Creates a bucket, writes an object into it and reads it back, each under a deadline. */
async function writeToNewBucket(home: string, ms: number): Promise<string> {
  const client = s3Client(readCredentials(home)!);
  const bucket = `fresh-${Date.now()}`;
  const deadline = <T>(what: string, p: Promise<T>) =>
    Promise.race([
      p,
      sleep(ms).then(() => Promise.reject(new Error(`${what} in s3://${bucket} did not finish within ${ms / 1000} s`))),
    ]);
  await deadline('make bucket', client.makeBucket(bucket, 'us-east-1'));
  await deadline('put', client.putObject(bucket, 'x.txt', Buffer.from('hello after restarts')));
  const chunks: Buffer[] = [];
  for await (const c of await deadline('get', client.getObject(bucket, 'x.txt'))) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

describe('up on a half-dead stack', () => {
  const home = mkdtempSync(join(tmpdir(), 'bpoflow-halfdead-'));
  const env = { BPOFLOW_HOME: home };
  let state: StackState;
  before(async () => {
    const res = await cli(['up', ...(await publicPorts())], { env });
    assert.equal(res.code, 0, res.stderr);
    state = readStackState(home)!;
  });
  after(async () => {
    await down({ home });
    rmSync(home, { recursive: true, force: true });
  });

  test(
    'after kill -9 of S3, up restarts only S3, on its port; Temporal keeps its pid',
    { timeout: 5 * 60_000 },
    async () => {
      const tPid = temporalPid(home);
      const oldS3 = s3Pid(home);
      killGroup(oldS3);
      await waitDead(oldS3);
      const res = await cli(['up'], { env });
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /Started s3 on its stored ports \(\d+ ms\); temporal kept running\./);
      const now = readStackState(home)!;
      assert.equal(temporalPid(home), tPid, 'Temporal was not restarted');
      assert.notEqual(s3Pid(home), oldS3);
      assert.equal(now.s3Endpoint, state.s3Endpoint, 'S3 came back on its port');
      assert.deepEqual(now.internalPorts, state.internalPorts);
      const status = await cli(['status'], { env });
      assert.equal(status.code, 0, status.stdout);
    },
  );

  test(
    'after kill -9 of Temporal, a port taken by another program is a clear error and S3 keeps running',
    { timeout: 5 * 60_000 },
    async () => {
      const sPid = s3Pid(home);
      const oldTemporal = temporalPid(home);
      killGroup(oldTemporal);
      await waitDead(oldTemporal);
      const squatter: Server = createServer();
      await new Promise<void>((ok) => squatter.listen(state.ports.temporal, '127.0.0.1', ok));
      try {
        const res = await cli(['up'], { env });
        assert.equal(res.code, 1);
        assert.match(
          res.stderr,
          new RegExp(
            `port 127\\.0\\.0\\.1:${state.ports.temporal} \\(temporal\\) is already in use by another program`,
          ),
        );
        assert.ok(isAlive(sPid), 'the healthy S3 was not stopped');
        assert.equal(s3Pid(home), sPid);
      } finally {
        await new Promise((ok) => squatter.close(ok));
      }
      const res = await cli(['up'], { env });
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /Started temporal on its stored ports \(\d+ ms\); s3 kept running\./);
      assert.equal(readStackState(home)!.temporalAddress, state.temporalAddress);
      assert.equal(s3Pid(home), sPid);
    },
  );

  test(
    'status reports S3 unhealthy within seconds when its writes hang, instead of hanging itself',
    { timeout: 60_000 },
    async () => {
      const pid = s3Pid(home);
      process.kill(-pid, 'SIGSTOP'); // the server accepts connections and never answers: a hung write
      try {
        const res = await cli(['status'], { env }, 30_000);
        assert.equal(res.code, 1, res.stdout);
        assert.ok(res.ms < 15_000, `status took ${res.ms} ms`);
        assert.match(res.stdout, /^temporal +healthy/m);
        assert.match(
          res.stdout,
          /^s3 +unhealthy .*\n +write probe \(put s3:\/\/bpoflow\/tmp\/health\/\S+\) did not finish within 5 s$/m,
        );
      } finally {
        process.kill(-pid, 'SIGCONT');
      }
      const again = await cli(['status'], { env }, 30_000);
      assert.equal(again.code, 0, again.stdout);
    },
  );

  test('every folder in the state dir is 0700 and every file 0600', async () => {
    const put = await cli(
      ['artifacts', 'put', join(home, 'stack.json'), 's3://bpoflow/test/modes.json'],
      { env },
      30_000,
    );
    assert.equal(put.code, 0, put.stderr);
    assert.ok(existsSync(join(home, 'temporal', 'temporal.db')));
    const lax: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        const mode = statSync(p).mode & 0o777;
        if (e.isDirectory()) {
          if (mode !== 0o700) lax.push(`${p} ${mode.toString(8)}`);
          walk(p);
        } else if (e.isFile() && mode !== 0o600) lax.push(`${p} ${mode.toString(8)}`);
      }
    };
    assert.equal(statSync(home).mode & 0o777, 0o700);
    walk(home);
    assert.deepEqual(lax, []);
  });
});

describe('the stack the CLI talks to', () => {
  const root = mkdtempSync(join(tmpdir(), 'bpoflow-where-'));
  const project = join(root, 'project');
  const userState = join(root, 'state'); // XDG_STATE_HOME: the user default lives here
  before(() => {
    mkdirSync(join(project, '.bpoflow'), { recursive: true });
    mkdirSync(join(project, 'sub', 'deeper'), { recursive: true });
    mkdirSync(join(root, 'elsewhere'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('from a subfolder it finds the parent .bpoflow/, and says so', async () => {
    const res = await cli(['status'], { cwd: join(project, 'sub', 'deeper'), env: { XDG_STATE_HOME: userState } });
    assert.equal(res.code, 1, 'nothing runs there');
    assert.match(
      res.stdout,
      new RegExp(`^stack +${escape(join(project, '.bpoflow'))} \\(found from the current directory\\)$`, 'm'),
    );
    assert.match(res.stdout, /^temporal +down/m);
  });

  test('from an unrelated folder it uses the user default, says so, and `list` explains instead of asking 127.0.0.1:7233', async () => {
    const opts = { cwd: join(root, 'elsewhere'), env: { XDG_STATE_HOME: userState } };
    const status = await cli(['status'], opts);
    const home = join(userState, 'bpoflow');
    assert.match(
      status.stdout,
      new RegExp(
        `^stack +${escape(home)} \\(the user default: no \\.bpoflow/ in ${escape(join(root, 'elsewhere'))} or above\\)$`,
        'm',
      ),
    );
    const list = await cli(['list'], opts, 30_000);
    assert.equal(list.code, 1);
    assert.equal(
      list.stderr.trim(),
      `bpoflow: no Temporal to talk to: the stack home ${home} (the user default: no .bpoflow/ in ${join(root, 'elsewhere')} or above) has no stack. ` +
        'Start it with `bpoflow up`, choose another with --home or BPOFLOW_HOME, or name a server with --address HOST:PORT (or TEMPORAL_ADDRESS).',
    );
  });

  test('--home wins over the search and BPOFLOW_HOME, before or after the command', async () => {
    const other = join(root, 'other-home');
    for (const args of [
      ['--home', other, 'status'],
      ['status', '--home', other],
    ]) {
      const res = await cli(args, { cwd: join(project, 'sub'), env: { BPOFLOW_HOME: join(root, 'ignored') } });
      assert.match(res.stdout, new RegExp(`^stack +${escape(other)} \\(from --home\\)$`, 'm'), args.join(' '));
    }
  });

  test('--address names the server in the error when nothing answers there', async () => {
    const port = await freePort();
    const res = await cli(
      ['list', '--address', `127.0.0.1:${port}`],
      { cwd: join(root, 'elsewhere'), env: { XDG_STATE_HOME: userState } },
      60_000,
    );
    assert.equal(res.code, 1);
    assert.match(
      res.stderr,
      new RegExp(
        `^bpoflow: cannot connect to Temporal at 127\\.0\\.0\\.1:${port}/default \\(from --address/TEMPORAL_ADDRESS\\)`,
      ),
    );
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
