// `bpoflow validate | run | status RUN | list | cancel | logs`: pipelines and their runs.
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
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
import { connectClient, WORKFLOW_QUEUE } from './connect.js';
import { pipelineSearchAttributes, runIdFor } from './run-id.js';
import { readStackState, stackHome } from '../infra/stack.js';
import { describeRun, renderSteps, type LiveRun } from './run-view.js';
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

export function uiLink(runId: string): string | undefined {
  const base = process.env.BPOFLOW_UI_URL ?? readStackState(stackHome())?.uiUrl;
  return base ? `${base}/namespaces/${process.env.TEMPORAL_NAMESPACE ?? 'default'}/workflows/${encodeURIComponent(runId)}` : undefined;
}

export interface SubmitOptions {
  set?: string[];
  params?: string;
}

/** Local inputs go to a content-addressed key, so resubmitting the same file reuses the same URI (and the step cache). */
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
  const paramsFile = opts.params ? (YAML.parse(readFileSync(opts.params, 'utf8')) as Record<string, unknown>) : undefined;
  const { plan, problems } = compile(text, { file, overrides: parseSets(opts.set ?? []), paramsFile, catalog: catalog() });
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
    const workflowId = runIdFor(plan, new Date(), i);
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
  if (opts.json) process.stdout.write(JSON.stringify(live, null, 2) + '\n');
  else process.stdout.write(renderSteps(live) + '\n' + (link ? `ui  ${link}\n` : ''));
  if (live.state === 'failed' || live.state === 'cancelled') process.exitCode = 1;
}

export async function waitForRun(client: Client, runId: string, json: boolean): Promise<LiveRun> {
  const { watchRun } = await import('./watch.js');
  return watchRun(client, runId, { json, link: uiLink(runId) });
}

export function runCommands(program: Command): void {
  program
    .command('validate')
    .description('check pipeline files; prints file:line:col: message for every problem, exits 2 if any')
    .argument('<files...>')
    .action((files: string[]) => {
      const problems = validateFiles(files.map((f) => resolve(f)), catalog());
      for (const p of problems) process.stdout.write(formatProblem(p) + '\n');
      if (problems.length) process.exitCode = 2;
      else process.stdout.write(`${files.length} file(s) valid\n`);
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
      if (opts.json && !opts.wait) process.stdout.write(JSON.stringify({ runId: handle.workflowId, ui: link }) + '\n');
      else process.stdout.write(`run ${handle.workflowId}\n${link ? `ui  ${link}\n` : ''}`);
      if (!opts.wait) return;
      const final = await waitForRun(client, handle.workflowId, Boolean(opts.json));
      if (final.state !== 'succeeded') process.exitCode = 1;
    });

  program
    .command('watch')
    .description("follow a run live: its steps, progress bars, latest metrics (plain lines when stdout is not a TTY)")
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
    .description("write a self-contained HTML report of a run (steps, training curves, data balance, clusters, eval, lineage) and PNGs of its plots")
    .argument('<run>')
    .requiredOption('--out <dir>', 'output folder (index.html and plots/*.png)')
    .action(async (run: string, opts: { out: string }) => {
      const { writeRunReport } = await import('./report/index.js');
      const { html, pngs } = await writeRunReport(run, opts.out);
      process.stdout.write(`report ${html}\n${pngs.map((p) => `plot   ${p}`).join('\n')}${pngs.length ? '\n' : ''}`);
    });

  program
    .command('list')
    .description('recent runs')
    .option('--limit <n>', 'how many', (v) => Number(v), 20)
    .option('--pipeline <name>', 'only runs of this pipeline')
    .action(async (opts: { limit: number; pipeline?: string }) => {
      const client = await connectClient();
      const query = `WorkflowType = 'pipelineWorkflow'` + (opts.pipeline ? ` AND BpoflowPipeline = '${opts.pipeline.replace(/'/g, '')}'` : '');
      let n = 0;
      for await (const wf of client.workflow.list({ query })) {
        process.stdout.write(`${wf.workflowId.padEnd(48)} ${wf.status.name.padEnd(11)} ${wf.startTime.toISOString()}\n`);
        if (++n >= opts.limit) break;
      }
    });

  program
    .command('cancel')
    .description('cancel a run: running steps are stopped, finished outputs are kept')
    .argument('<run>')
    .option('--reason <text>', 'why', 'cancelled by user')
    .action(async (run: string, opts: { reason: string }) => {
      const client = await connectClient();
      const state = await client.workflow.getHandle(run).executeUpdate('cancel', { args: [opts.reason] });
      process.stdout.write(`cancel requested for ${run} (state was ${String(state)})\n`);
    });

  program
    .command('logs')
    .description("a run's step logs (JSON lines written by the workers)")
    .argument('<run>')
    .option('--step <id>', 'only this step')
    .addOption(new Option('--format <f>', 'output').choices(['text', 'json']).default('text'))
    .action(async (run: string, opts: { step?: string; format: 'text' | 'json' }) => {
      const { printRunLogs } = await import('./logs.js');
      await printRunLogs(run, opts);
    });
}
