// The CLI as people and scripts meet it: one error prefix, usage errors exit 2,
// no raw Node or Temporal error text, shell completion that completes in bash,
// `--json` read commands whose output parses. Against the test run's real stack.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../spec/package-root.js';
import { bpoflow, startWorker, type WorkerHandle } from '../helpers/worker.js';

const root = packageRoot();
const quickstart = join(root, 'pipelines', 'examples', 'quickstart.yaml');
/** Texts that only internals write: Node's errno names, gRPC and Temporal server phrases, stack frames. */
const RAW =
  /ENOENT|EISDIR|scandir|workflow execution already completed|Failed to query Workflow|\bat .+\.js:\d+|^error: /m;

describe('CLI errors', () => {
  test('every error has the bpoflow: prefix, commander errors included', async () => {
    const res = await bpoflow(['frobnicate']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /^bpoflow: unknown command 'frobnicate'/m);
    assert.doesNotMatch(res.stderr, RAW);
  });

  test('a malformed --every is a usage error: exit 2, with the expected form', async () => {
    const res = await bpoflow(['schedule', 'create', quickstart, '--id', 'ux-bad-every', '--every', '7x']);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /^bpoflow: --every: not a duration \(e\.g\. 30m, 6h, 1d\): 7x$/m);
    assert.match(res.stderr, /Usage: bpoflow schedule create/);
  });

  test('deleting a schedule that does not exist names it, in bpoflow words', async () => {
    const res = await bpoflow(['schedule', 'delete', 'ux-no-such-schedule']);
    assert.equal(res.code, 1);
    assert.equal(res.stderr.trim(), 'bpoflow: no schedule "ux-no-such-schedule" (bpoflow schedule list shows them)');
  });

  test('a missing file or folder is named plainly', async () => {
    const missing = join(tmpdir(), 'bpoflow-no-such-dir', 'data.jsonl');
    const put = await bpoflow(['artifacts', 'put', missing]);
    assert.equal(put.code, 1);
    assert.equal(put.stderr.trim(), `bpoflow: ${missing}: no such file or folder`);
    const info = await bpoflow(['model', 'info', join(tmpdir(), 'bpoflow-no-such-model')]);
    assert.equal(info.code, 1);
    assert.doesNotMatch(info.stderr, RAW);
    assert.match(info.stderr, /^bpoflow: .*bpoflow-no-such-model.*: no such file or folder$/m);
  });

  test('a run id that does not exist is named', async () => {
    const res = await bpoflow(['status', 'ux-no-such-run']);
    assert.equal(res.code, 1);
    assert.doesNotMatch(res.stderr, RAW);
    assert.match(res.stderr, /no run "ux-no-such-run"/);
  });

  test('every command and subcommand has a help line', async () => {
    const res = await bpoflow(['completion', 'bash']);
    const paths = [...res.stdout.matchAll(/^ {2}\['bpoflow ([^']+)'\]=/gm)].map((m) => m[1]!);
    const unique = [...new Set(paths)];
    assert.ok(unique.length > 20, `found ${unique.length} commands`);
    for (const path of unique) {
      const parent = path.split(' ').slice(0, -1);
      const leaf = path.split(' ').at(-1)!;
      const help = await bpoflow([...parent, '--help']);
      const commands = help.stdout.slice(help.stdout.indexOf('Commands:'));
      const line = commands.split('\n').find((l) => l.startsWith(`  ${leaf} `) || l === `  ${leaf}`);
      assert.ok(line, `${path} is listed in ${parent.join(' ') || 'bpoflow'} --help`);
      // Commander prints "  term  description": the term and its description are two or more spaces apart.
      const [, description] = line.trim().split(/\s{2,}/);
      assert.ok(description?.trim(), `${path} has a description: "${line}"`);
    }
  });
});

describe('shell completion', () => {
  const script = join(mkdtempSync(join(tmpdir(), 'bpoflow-completion-')), 'bpoflow.bash');

  /** What bash completes for the words typed so far (the last one may be partial). */
  function complete(words: string[]): string[] {
    const line = ['bpoflow', ...words];
    const out = execFileSync(
      'bash',
      [
        '-c',
        `source ${script}; COMP_WORDS=(${line.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${line.length - 1}; _bpoflow_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      {
        encoding: 'utf8',
      },
    );
    return out.split('\n').filter(Boolean).sort();
  }

  test('bash completes commands, subcommands and options', async () => {
    const res = await bpoflow(['completion', 'bash']);
    assert.equal(res.code, 0, res.stderr);
    writeFileSync(script, res.stdout);
    assert.deepEqual(complete(['art']), ['artifacts']);
    assert.deepEqual(complete(['artifacts', 's']), ['show']);
    assert.deepEqual(complete(['schedule', 'un']), ['unpause']);
    assert.ok(complete(['run', '--']).includes('--wait'));
    assert.ok(complete(['run', 'x.yaml', '--s']).includes('--set'));
    assert.deepEqual(complete(['schedule', 'list', '--j']), ['--json']);
    assert.ok(complete(['']).includes('completion'));
  });

  test('zsh and fish scripts are generated from the same tree', async () => {
    const zsh = await bpoflow(['completion', 'zsh']);
    assert.match(zsh.stdout, /bashcompinit/);
    const fish = await bpoflow(['completion', 'fish']);
    assert.match(fish.stdout, /complete -c bpoflow -n '__fish_seen_subcommand_from schedule' -a '[^']*unpause/);
    const bad = await bpoflow(['completion', 'tcsh']);
    assert.equal(bad.code, 2);
  });
});

describe('--json on read commands', () => {
  let worker: WorkerHandle;
  let runId: string;
  /** The run whose stats step actually ran (a cache hit reuses an earlier run's outputs and logs). */
  let ranIn: string;
  before(async () => {
    worker = await startWorker();
    const run = await bpoflow(['run', quickstart, '--wait', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const final = JSON.parse(run.stdout) as {
      runId: string;
      state: string;
      steps: { id: string; outputs?: Record<string, unknown> }[];
    };
    assert.equal(final.state, 'succeeded', 'run --wait --json prints only the final status');
    runId = final.runId;
    // A cache hit's outputs live under the run that computed them: s3://<bucket>/runs/<run>/stats/stats.json.
    const stats = String(final.steps.find((s) => s.id === 'stats')?.outputs?.stats ?? '');
    ranIn = /\/runs\/([^/]+)\/stats\//.exec(stats)?.[1] ?? runId;
  });
  after(async () => worker?.stop());

  test('list --json: one vocabulary of states, cancelled runs included', async () => {
    const long = await bpoflow([
      'run',
      join(root, 'test', 'fixtures', 'spec', 'diamond.yaml'),
      '--set',
      'sleepMs=60000',
      '--json',
    ]);
    const cancelledId = (JSON.parse(long.stdout) as { runId: string }).runId;
    const cancel = await bpoflow(['cancel', cancelledId]);
    assert.equal(cancel.code, 0, cancel.stderr);
    const runs = async () =>
      JSON.parse((await bpoflow(['list', '--json', '--limit', '200'])).stdout) as {
        runId: string;
        state: string;
        pipeline: string;
        startedAt: string;
      }[];
    let listed = await runs();
    for (let i = 0; i < 60 && listed.find((r) => r.runId === cancelledId)?.state === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 500));
      listed = await runs();
    }
    assert.deepEqual(
      {
        state: listed.find((r) => r.runId === runId)?.state,
        pipeline: listed.find((r) => r.runId === runId)?.pipeline,
      },
      { state: 'succeeded', pipeline: 'quickstart' },
    );
    assert.equal(
      listed.find((r) => r.runId === cancelledId)?.state,
      'cancelled',
      'a cancelled run is listed as cancelled, not FAILED',
    );
    for (const r of listed) assert.match(r.state, /^(running|succeeded|failed|cancelled|terminated|timed-out)$/);
    const status = JSON.parse((await bpoflow(['status', runId, '--json'])).stdout) as { state: string };
    assert.equal(status.state, 'succeeded', 'status and list agree');
    const table = await bpoflow(['list', '-o', 'wide', '--limit', '200']);
    assert.match(table.stdout, /^RUN\s+STATE\s+PIPELINE\s+STARTED\s+ENDED$/m);
    assert.match(table.stdout, new RegExp(`^${runId}\\s+succeeded\\s+quickstart\\s`, 'm'));
  });

  test('artifacts ls --json and show --json parse, with the manifest hash', async () => {
    const ls = await bpoflow(['artifacts', 'ls', `runs/${ranIn}/`, '--json']);
    assert.equal(ls.code, 0, ls.stderr);
    const entries = JSON.parse(ls.stdout) as { uri: string; kind: string; sha256: string | null }[];
    const stats = entries.find((e) => e.uri.endsWith('/stats/stats.json'));
    assert.ok(stats && /^[0-9a-f]{64}$/.test(stats.sha256 ?? ''), `stats.json listed with its hash: ${ls.stdout}`);
    const show = await bpoflow(['artifacts', 'show', stats.uri, '-o', 'json']);
    const shown = JSON.parse(show.stdout) as { manifest: { sha256: string }; lineage: { uri: string } };
    assert.equal(shown.manifest.sha256, stats.sha256);
    assert.equal(shown.lineage.uri, stats.uri);
  });

  test('logs --json is one parseable record per line', async () => {
    const res = await bpoflow(['logs', ranIn, '--json']);
    assert.equal(res.code, 0, res.stderr);
    const records = res.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg: string; step: string });
    assert.ok(records.some((r) => r.msg === 'step finished' && r.step === 'stats'));
  });

  test('logs of a training step show its progress lines, rounded for people', async () => {
    const catalog = {
      BPOFLOW_CATALOG_PATH: [process.env.BPOFLOW_CATALOG_PATH, join(root, 'test', 'fixtures', 'report', 'steps')]
        .filter(Boolean)
        .join(':'),
    };
    const run = await bpoflow(
      [
        'run',
        join(root, 'test', 'fixtures', 'report', 'train-report.yaml'),
        '--set',
        'steps=20',
        '--set',
        'sleepMs=10',
        '--wait',
        '--json',
      ],
      catalog,
    );
    assert.equal(run.code, 0, run.stderr);
    const id = (JSON.parse(run.stdout) as { runId: string }).runId;
    const text = (await bpoflow(['logs', id, '--step', 'train'])).stdout;
    const progress = text.split('\n').filter((l) => / progress {2}/.test(l));
    // One line per tenth of the 20 steps: steps 2, 4, …, 20.
    assert.deepEqual(
      progress.map((l) => Number(/ trainStep=(\d+) /.exec(l)?.[1])),
      [2, 4, 6, 8, 10, 12, 14, 16, 18, 20],
      text,
    );
    assert.match(progress[0]!, /\[train#1\]/, 'the line names its pipeline step');
    assert.match(progress.at(-1)!, / of=20 loss=\d\.\d{4} /);
    assert.doesNotMatch(text, /\d\.\d{7,}/, 'numbers rounded for people');
    const json = (await bpoflow(['logs', id, '--step', 'train', '--json'])).stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg: string; loss?: number });
    assert.ok(
      json.some((r) => r.msg === 'progress' && typeof r.loss === 'number' && !Number.isInteger(r.loss * 1e4)),
      'JSON keeps the exact value',
    );
  });

  test('validate --json gives every problem with its place', async () => {
    const bad = join(mkdtempSync(join(tmpdir(), 'bpoflow-validate-')), 'bad.yaml');
    writeFileSync(
      bad,
      'apiVersion: bpoflow/v1\nkind: Pipeline\nmetadata: { name: bad }\nsteps:\n  - id: a\n    uses: no.such@v1\n',
    );
    const res = await bpoflow(['validate', bad, '--json']);
    assert.equal(res.code, 2);
    const out = JSON.parse(res.stdout) as {
      valid: boolean;
      problems: { file: string; line: number; col: number; message: string }[];
    };
    assert.equal(out.valid, false);
    assert.equal(out.problems[0]?.line, 6);
    assert.match(out.problems[0]!.message, /no\.such/);
    const good = JSON.parse((await bpoflow(['validate', quickstart, '--json'])).stdout) as {
      valid: boolean;
      problems: unknown[];
    };
    assert.deepEqual(good, { valid: true, files: [quickstart], problems: [] });
  });

  test('schedule list --json parses', async () => {
    const res = await bpoflow(['schedule', 'list', '--json']);
    assert.equal(res.code, 0, res.stderr);
    assert.ok(Array.isArray(JSON.parse(res.stdout)));
  });
});
