// `bpoflow resume RUN [--from STEP] [--wait]`.
import type { Command } from 'commander';
import { ArtifactStore } from '../store/artifacts.js';
import { connectClient, uiLink } from './connect.js';
import { NothingToResume, resumeRun } from './resume.js';
import { waitForRun } from './run-commands.js';

export function resumeCommand(program: Command): void {
  program
    .command('resume')
    .description(
      'rerun a failed or cancelled run, reusing every step that succeeded; a half-done training step continues from its last checkpoint',
    )
    .argument('<run>')
    .option('--from <step>', 'also rerun this step and everything after it')
    .option('--wait', 'stream step states and exit 0 only on success')
    .option('--json', 'machine-readable output')
    .action(async (run: string, opts: { from?: string; wait?: boolean; json?: boolean }) => {
      const client = await connectClient();
      let resumed: Awaited<ReturnType<typeof resumeRun>>;
      try {
        resumed = await resumeRun(client, ArtifactStore.fromEnv(), run, { from: opts.from });
      } catch (err) {
        if (!(err instanceof NothingToResume)) throw err;
        // Not an error: the run is already where resume would take it.
        process.stdout.write(
          opts.json
            ? JSON.stringify({ runId: null, resumedFrom: run, nothing: err.message }) + '\n'
            : `${err.message}\n`,
        );
        return;
      }
      const { handle, reused, rerun } = resumed;
      if (opts.json && !opts.wait)
        process.stdout.write(JSON.stringify({ runId: handle.workflowId, resumedFrom: run, reused, rerun }) + '\n');
      else {
        const link = uiLink(handle.workflowId);
        process.stdout.write(
          `run ${handle.workflowId} (resumes ${run}; reuses ${reused.join(', ') || 'nothing'}; reruns ${rerun.join(', ')})\n${link ? `ui  ${link}\n` : ''}`,
        );
      }
      if (!opts.wait) return;
      const final = await waitForRun(client, handle.workflowId, Boolean(opts.json));
      if (final.state !== 'succeeded') process.exitCode = 1;
    });
}
