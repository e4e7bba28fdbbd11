// `bpoflow schedule ...`: periodic runs on Temporal Schedules. The plan is
// compiled (and its local inputs uploaded) when the schedule is created;
// `channel://` references resolve at each run's start, so each run trains
// from the channel's model of the day.
import type { Command } from 'commander';
import { Option } from 'commander';
import type { ScheduleOverlapPolicy } from '@temporalio/client';
import { ArtifactStore } from '../store/artifacts.js';
import { connectClient, WORKFLOW_QUEUE } from './connect.js';
import { preparePlan } from './run-commands.js';
import { pipelineSearchAttributes } from './run-id.js';
import { parseDuration } from '../spec/duration.js';
import { usageError } from './errors.js';
import { outputFormat, printJson, table, withOutputOptions } from './output.js';

const OVERLAP: Record<string, ScheduleOverlapPolicy> = {
  skip: 'SKIP',
  'buffer-one': 'BUFFER_ONE',
  'buffer-all': 'BUFFER_ALL',
  'cancel-other': 'CANCEL_OTHER',
  'allow-all': 'ALLOW_ALL',
};

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const parseDate = (v: string) => {
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw usageError(`not a date (ISO 8601 expected): ${v}`);
  return d;
};

export function scheduleCommands(program: Command): void {
  const schedule = program.command('schedule').description('periodic runs (Temporal Schedules)');

  schedule
    .command('create')
    .description(
      'schedule a pipeline: each run compiles from FILE as it is now, channel:// inputs resolve at run start',
    )
    .argument('<file>', 'pipeline YAML')
    .requiredOption('--id <id>', 'schedule id')
    .option('--cron <expr>', 'cron expression, e.g. "0 3 * * *"')
    .option('--every <duration>', 'interval, e.g. 6h or 30m')
    .addOption(
      new Option('--overlap <policy>', 'what to do when a run is still going')
        .choices(Object.keys(OVERLAP))
        .default('skip'),
    )
    .option('--set <key=value>', 'override a param (repeatable)', collect, [])
    .option('--params <file>', 'YAML/JSON file of param values')
    .option('--paused', 'create it paused')
    .action(
      async (
        file: string,
        opts: {
          id: string;
          cron?: string;
          every?: string;
          overlap: string;
          set: string[];
          params?: string;
          paused?: boolean;
        },
      ) => {
        if (Boolean(opts.cron) === Boolean(opts.every)) throw usageError('give exactly one of --cron or --every');
        const everyMs = opts.every ? parseDuration(opts.every) : undefined;
        if (opts.every && !everyMs) throw usageError(`--every: not a duration (e.g. 30m, 6h, 1d): ${opts.every}`);
        const plan = await preparePlan(file, { set: opts.set, params: opts.params }, ArtifactStore.fromEnv());
        const client = await connectClient();
        await client.schedule.create({
          scheduleId: opts.id,
          spec: opts.cron ? { cronExpressions: [opts.cron] } : { intervals: [{ every: everyMs! }] },
          action: {
            type: 'startWorkflow',
            workflowType: 'pipelineWorkflow',
            workflowId: `${plan.name}-sched-${opts.id}`,
            taskQueue: WORKFLOW_QUEUE,
            args: [{ plan }],
            typedSearchAttributes: pipelineSearchAttributes(plan),
          },
          policies: { overlap: OVERLAP[opts.overlap]! },
          state: { paused: Boolean(opts.paused), note: `bpoflow: ${plan.name} (${plan.specHash.slice(0, 12)})` },
        });
        process.stdout.write(
          `schedule ${opts.id} created: ${plan.name} ${opts.cron ? `cron "${opts.cron}"` : `every ${opts.every}`}, overlap ${opts.overlap}\n`,
        );
      },
    );

  withOutputOptions(schedule.command('list').description('every schedule: state, next run, note')).action(
    async (opts: { output?: string; json?: boolean }) => {
      const client = await connectClient();
      const rows: { id: string; state: 'paused' | 'active'; next: string | null; note: string | null }[] = [];
      for await (const s of client.schedule.list()) {
        rows.push({
          id: s.scheduleId,
          state: s.state.paused ? 'paused' : 'active',
          next: s.info.nextActionTimes[0]?.toISOString() ?? null,
          note: s.state.note ?? null,
        });
      }
      if (outputFormat(opts) === 'json') return printJson(rows);
      process.stdout.write(
        rows.length
          ? table(
              ['id', 'state', 'next', 'note'],
              rows.map((r) => [r.id, r.state, r.next ?? '-', r.note ?? '']),
            )
          : 'no schedules\n',
      );
    },
  );

  schedule
    .command('describe')
    .description("a schedule's spec, overlap policy, recent and running runs, next times")
    .argument('<id>')
    .option('--json', 'machine-readable output')
    .action(async (id: string, opts: { json?: boolean }) => {
      const d = await (await connectClient()).schedule.getHandle(id).describe();
      const summary = {
        id: d.scheduleId,
        paused: d.state.paused,
        note: d.state.note,
        overlap: d.policies.overlap,
        spec: d.spec,
        runs: d.info.recentActions.map((a) => ({
          scheduledAt: a.scheduledAt,
          runId: 'workflow' in a.action ? a.action.workflow.workflowId : undefined,
        })),
        running: d.info.runningActions.map((a) => a.workflow.workflowId),
        next: d.info.nextActionTimes,
      };
      process.stdout.write(opts.json ? JSON.stringify(summary, null, 2) + '\n' : formatSchedule(summary));
    });

  schedule
    .command('pause')
    .description('stop starting runs (running ones go on)')
    .argument('<id>')
    .option('--note <text>', 'why')
    .action(async (id: string, opts: { note?: string }) => {
      await (await connectClient()).schedule.getHandle(id).pause(opts.note);
      process.stdout.write(`schedule ${id} paused\n`);
    });

  schedule
    .command('unpause')
    .description('start runs on schedule again')
    .argument('<id>')
    .action(async (id: string) => {
      await (await connectClient()).schedule.getHandle(id).unpause();
      process.stdout.write(`schedule ${id} unpaused\n`);
    });

  schedule
    .command('trigger')
    .description("start a run now, under the schedule's own overlap policy")
    .argument('<id>')
    .action(async (id: string) => {
      const handle = (await connectClient()).schedule.getHandle(id);
      const { policies } = await handle.describe();
      await handle.trigger(policies.overlap);
      process.stdout.write(`schedule ${id} triggered (overlap ${policies.overlap})\n`);
    });

  schedule
    .command('backfill')
    .description('start the runs the schedule would have started between --from and --to')
    .argument('<id>')
    .requiredOption('--from <time>', 'start (ISO 8601)', parseDate)
    .requiredOption('--to <time>', 'end (ISO 8601)', parseDate)
    .action(async (id: string, opts: { from: Date; to: Date }) => {
      const handle = (await connectClient()).schedule.getHandle(id);
      const { policies } = await handle.describe();
      await handle.backfill({ start: opts.from, end: opts.to, overlap: policies.overlap });
      process.stdout.write(
        `schedule ${id}: backfill ${opts.from.toISOString()} .. ${opts.to.toISOString()} requested\n`,
      );
    });

  schedule
    .command('delete')
    .description('delete the schedule (its past runs and artifacts stay)')
    .argument('<id>')
    .action(async (id: string) => {
      await (await connectClient()).schedule.getHandle(id).delete();
      process.stdout.write(`schedule ${id} deleted\n`);
    });
}

function formatSchedule(s: {
  id: string;
  paused: boolean;
  note?: string;
  overlap?: string;
  runs: { scheduledAt: Date; runId?: string }[];
  running: string[];
  next: Date[];
}): string {
  return [
    `schedule ${s.id} (${s.paused ? 'paused' : 'active'}, overlap ${s.overlap})${s.note ? `  ${s.note}` : ''}`,
    `  running: ${s.running.join(', ') || '-'}`,
    `  recent:  ${s.runs.map((r) => `${r.runId} @ ${r.scheduledAt.toISOString()}`).join('\n           ') || '-'}`,
    `  next:    ${s.next.map((d) => d.toISOString()).join(', ') || '-'}`,
    '',
  ].join('\n');
}
