// `bpoflow resume RUN [--from STEP] [--wait]`.
import type { Command } from 'commander';
import { ArtifactStore } from '../store/artifacts.js';
import { connectClient } from './connect.js';
import { resumeRun } from './resume.js';
import { uiLink, waitForRun } from './run-commands.js';

export function resumeCommand(program: Command): void {
  program
    .command('resume')
    .description('rerun a failed run, reusing every step that succeeded')
    .argument('<run>')
    .option('--from <step>', 'also rerun this step and everything after it')
    .option('--wait', 'stream step states and exit 0 only on success')
    .option('--json', 'machine-readable output')
    .action(async (run: string, opts: { from?: string; wait?: boolean; json?: boolean }) => {
      const client = await connectClient();
      const { handle, reused, rerun } = await resumeRun(client, ArtifactStore.fromEnv(), run, { from: opts.from });
      if (opts.json && !opts.wait) process.stdout.write(JSON.stringify({ runId: handle.workflowId, resumedFrom: run, reused, rerun }) + '\n');
      else {
        const link = uiLink(handle.workflowId);
        process.stdout.write(`run ${handle.workflowId} (resumes ${run}; reuses ${reused.join(', ') || 'nothing'}; reruns ${rerun.join(', ')})\n${link ? `ui  ${link}\n` : ''}`);
      }
      if (!opts.wait) return;
      const final = await waitForRun(client, handle.workflowId, Boolean(opts.json));
      if (final.state !== 'succeeded') process.exitCode = 1;
    });
}
