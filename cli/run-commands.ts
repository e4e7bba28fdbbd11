// `bpoflow validate | run | status RUN | list | cancel | logs`: pipelines and their runs.
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createHash, randomUUID } from 'node:crypto';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import YAML from 'yaml';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Plan } from '../spec/plan.js';
import { compile } from '../spec/compile.js';
import { listLocalInputs, withInputUris } from '../spec/inputs.js';
import { validateFiles } from '../spec/validate.js';
import { formatProblem } from '../spec/problem.js';
import { catalogDirsFromEnv, defaultCatalogDir, loadCatalog } from '../spec/catalog.js';
import { ArtifactStore } from '../store/artifacts.js';
import { connectClient, uiLink, WORKFLOW_QUEUE } from './connect.js';
import { PIPELINE_ATTR, pipelineSearchAttributes, runIdFor } from './run-id.js';
import { describeRun, queueWorkers, renderSteps, type LiveRun } from './run-view.js';
import { redact } from '../activities/redact.js';
import { outputFormat, printJson, runStateOf, table, withOutputOptions } from './output.js';
import { importModelFolder } from './model-import.js';

const catalog = () => loadCatalog(defaultCatalogDir(), catalogDirsFromEnv());

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseSets(sets: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new Error(`--set expects key=value, got "${s}"`);
    out[s.slice(0, eq)] = s.slice(eq + 1);
  }
  return out;
}

export interface SubmitOptions {
  set?: string[];
  params?: string;
}

/** Local inputs go to a content-addressed key: resubmitting the same file reuses the same URI (and the step cache). */
async function uploadInput(store: ArtifactStore, path: string): Promise<string> {
  // A folder is a Hugging Face model folder: a model bundle, content-addressed the same way.
  if (statSync(path).isDirectory()) return (await importModelFolder(store, path, { prefix: 'inputs' })).uri;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const uri = `s3://${store.bucket}/inputs/${hash.digest('hex').slice(0, 16)}/${basename(path)}`;
  if (!(await store.exists(uri))) await store.put(uri, path, { kind: 'dataset' });
  return uri;
}

/** Compiles a pipeline file, uploads its local inputs, and returns the plan ready to run. */
export async function preparePlan(file: string, opts: SubmitOptions, store: ArtifactStore): Promise<Plan> {
  const text = readFileSync(file, 'utf8');
  const paramsFile = opts.params
    ? (YAML.parse(readFileSync(opts.params, 'utf8')) as Record<string, unknown>)
    : undefined;
  const { plan, problems } = compile(text, {
    file,
    overrides: parseSets(opts.set ?? []),
    paramsFile,
    catalog: catalog(),
  });
  if (!plan || problems.length) {
    const err = new Error(problems.map(formatProblem).join('\n'));
    err.name = 'InvalidPipeline';
    throw err;
  }
  const uploads: Record<string, string> = {};
  for (const { name, path } of listLocalInputs(plan)) {
    uploads[name] = await uploadInput(store, path);
  }
  return withInputUris(plan, uploads);
}

export async function submit(client: Client, plan: Plan): Promise<WorkflowHandle> {
  for (let i = 0; ; i++) {
    const workflowId = runIdFor(plan, new Date());
    try {
      return await client.workflow.start('pipelineWorkflow', {
        taskQueue: WORKFLOW_QUEUE,
        workflowId,
        args: [{ plan }],
        typedSearchAttributes: pipelineSearchAttributes(plan),
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError) || i > 5) throw err;
    }
  }
}

export async function runStatus(run: string, opts: { json?: boolean }): Promise<void> {
  const client = await connectClient();
  const live = await describeRun(client, run);
  const link = uiLink(run);
  if (opts.json) process.stdout.write(redact(JSON.stringify(live, null, 2)) + '\n');
  else process.stdout.write(redact(renderSteps(live)) + '\n' + (link ? `ui  ${link}\n` : ''));
  if (live.state === 'failed' || live.state === 'cancelled') process.exitCode = 1;
}

/** How long `cancel` waits for a worker to take the cancel update before it records a cancel request instead. */
const CANCEL_UPDATE_TIMEOUT_MS = 3_000;

/**
 * Cancels a run. With a worker on the workflow queue, the workflow's `cancel`
 * update stops running steps at once and keeps the reason. Without one (or if
 * none takes the update in time) Temporal records a cancel request in the
 * run's history, which the workflow acts on (the same way) as soon as a worker
 * polls its queue; the command never waits for that.
 */
export async function cancelRun(client: Client, run: string, reason: string): Promise<string> {
  const handle = client.workflow.getHandle(run);
  const description = await handle.describe();
  if (description.status.name !== 'RUNNING')
    return `run ${run} already finished (${description.status.name}): nothing to cancel`;
  const queue = description.taskQueue;
  const workers = await queueWorkers(client, queue, 'workflow');
  if (workers.live) {
    try {
      const state = await client.connection.withDeadline(Date.now() + CANCEL_UPDATE_TIMEOUT_MS, () =>
        handle.executeUpdate('cancel', { args: [reason] }),
      );
      return `cancel requested for ${run} (state was ${String(state)})`;
    } catch {
      // no worker took it in time: fall back to the recorded request below
    }
  }
  await client.workflowService.requestCancelWorkflowExecution({
    namespace: client.options.namespace,
    workflowExecution: { workflowId: run },
    identity: client.options.identity,
    requestId: randomUUID(),
    reason,
  });
  return `cancel of ${run} recorded (${reason}); no worker is serving task queue "${queue}" now, so it takes effect when one polls it: running steps are then stopped, finished outputs kept`;
}

export async function waitForRun(client: Client, runId: string, json: boolean): Promise<LiveRun> {
  const { watchRun } = await import('./watch.js');
  return watchRun(client, runId, { json, link: uiLink(runId) });
}

/** The failure type a closed, failed execution ended with (undefined when it can't be read). */
async function failureTypeOf(client: Client, runId: string): Promise<string | undefined> {
  try {
    await client.workflow.getHandle(runId).result();
  } catch (err) {
    let e: unknown = err;
    while (e && typeof e === 'object' && 'cause' in e && (e as { cause?: unknown }).cause)
      e = (e as { cause: unknown }).cause;
    return (e as { type?: string }).type;
  }
  return undefined;
}

export function runCommands(program: Command): void {
  program
    .command('validate')
    .description('check pipeline files; prints file:line:col: message for every problem, exits 2 if any')
    .argument('<files...>')
    .option('--json', 'machine-readable output: {valid, files, problems: [{file, line, col, message}]}')
    .action((files: string[], opts: { json?: boolean }) => {
      const problems = validateFiles(
        files.map((f) => resolve(f)),
        catalog(),
      );
      if (problems.length) process.exitCode = 2;
      if (opts.json) return printJson({ valid: problems.length === 0, files, problems });
      for (const p of problems) process.stdout.write(formatProblem(p) + '\n');
      if (!problems.length) process.stdout.write(`${files.length} file(s) valid\n`);
    });

  program
    .command('run')
    .description('submit a pipeline run and print its id')
    .argument('<file>', 'pipeline YAML')
    .option('--set <key=value>', 'override a param (repeatable)', collect, [])
    .option('--params <file>', 'YAML/JSON file of param values')
    .option('--wait', 'stream step states and exit 0 only on success')
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: SubmitOptions & { wait?: boolean; json?: boolean }) => {
      const store = ArtifactStore.fromEnv();
      let plan: Plan;
      try {
        plan = await preparePlan(file, opts, store);
      } catch (err) {
        if (err instanceof Error && err.name === 'InvalidPipeline') {
          process.stderr.write(err.message + '\n');
          process.exitCode = 2;
          return;
        }
        throw err;
      }
      const client = await connectClient();
      const handle = await submit(client, plan);
      const link = uiLink(handle.workflowId);
      // With --json, stdout is one JSON document: the run id now, or with --wait the final status.
      if (!opts.json) process.stdout.write(`run ${handle.workflowId}\n${link ? `ui  ${link}\n` : ''}`);
      else if (!opts.wait) process.stdout.write(JSON.stringify({ runId: handle.workflowId, ui: link }) + '\n');
      if (!opts.wait) return;
      const final = await waitForRun(client, handle.workflowId, Boolean(opts.json));
      if (final.state !== 'succeeded') process.exitCode = 1;
    });

  program
    .command('watch')
    .description('follow a run live: its steps, progress bars, latest metrics (plain lines when stdout is not a TTY)')
    .argument('<run>')
    .option('--json', 'print only the final status, as JSON')
    .action(async (run: string, opts: { json?: boolean }) => {
      const client = await connectClient();
      const link = uiLink(run);
      if (!opts.json && !process.stdout.isTTY) process.stdout.write(`run ${run}\n${link ? `ui  ${link}\n` : ''}`);
      const { watchRun } = await import('./watch.js');
      const final = await watchRun(client, run, { json: opts.json, link });
      if (final.state !== 'succeeded') process.exitCode = 1;
    });

  program
    .command('report')
    .description(
      'write a self-contained HTML report of a run (steps, training curves, data balance, clusters, eval, lineage) and PNGs of its plots',
    )
    .argument('<run>')
    .requiredOption('--out <dir>', 'output folder (index.html and plots/*.png)')
    .action(async (run: string, opts: { out: string }) => {
      const { writeRunReport } = await import('./report/index.js');
      const { html, pngs } = await writeRunReport(run, opts.out);
      process.stdout.write(`report ${html}\n${pngs.map((p) => `plot   ${p}`).join('\n')}${pngs.length ? '\n' : ''}`);
    });

  withOutputOptions(
    program
      .command('list')
      .description('recent runs, newest first: id, state, pipeline, start and end')
      .option('--limit <n>', 'how many', (v) => Number(v), 20)
      .option('--pipeline <name>', 'only runs of this pipeline'),
  ).action(async (opts: { limit: number; pipeline?: string; output?: string; json?: boolean }) => {
    const client = await connectClient();
    const query =
      `WorkflowType = 'pipelineWorkflow'` +
      (opts.pipeline ? ` AND BpoflowPipeline = '${opts.pipeline.replace(/'/g, '')}'` : '');
    const runs: { runId: string; state: string; pipeline: string | null; startedAt: string; endedAt: string | null }[] =
      [];
    for await (const wf of client.workflow.list({ query })) {
      // A bpoflow cancel ends the execution as failed (RunCancelled): its failure says which.
      const failureType = wf.status.name === 'FAILED' ? await failureTypeOf(client, wf.workflowId) : undefined;
      const pipeline = wf.typedSearchAttributes.get(PIPELINE_ATTR) ?? null;
      runs.push({
        runId: wf.workflowId,
        state: runStateOf(wf.status.name, failureType),
        pipeline,
        startedAt: wf.startTime.toISOString(),
        endedAt: wf.closeTime?.toISOString() ?? null,
      });
      if (runs.length >= opts.limit) break;
    }
    const format = outputFormat(opts);
    if (format === 'json') return printJson(runs);
    const wide = format === 'wide';
    const header = wide ? ['run', 'state', 'pipeline', 'started', 'ended'] : ['run', 'state', 'started'];
    const rows = runs.map((r) =>
      wide ? [r.runId, r.state, r.pipeline ?? '-', r.startedAt, r.endedAt ?? '-'] : [r.runId, r.state, r.startedAt],
    );
    process.stdout.write(runs.length ? table(header, rows) : 'no runs\n');
  });

  program
    .command('cancel')
    .description('cancel a run: running steps are stopped, finished outputs are kept')
    .argument('<run>')
    .option('--reason <text>', 'why', 'cancelled by user')
    .action(async (run: string, opts: { reason: string }) => {
      const client = await connectClient();
      process.stdout.write((await cancelRun(client, run, opts.reason)) + '\n');
    });

  program
    .command('logs')
    .description("a run's step logs (JSON lines written by the workers)")
    .argument('<run>')
    .option('--step <id>', 'only this step')
    .option('--json', 'one JSON record per line, as the workers wrote them')
    .addOption(
      new Option('--format <f>', 'output (--json is the same as --format json)')
        .choices(['text', 'json'])
        .default('text'),
    )
    .action(async (run: string, opts: { step?: string; format: 'text' | 'json'; json?: boolean }) => {
      const { printRunLogs } = await import('./logs.js');
      await printRunLogs(run, { step: opts.step, format: opts.json ? 'json' : opts.format });
    });
}
