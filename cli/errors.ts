// What the user reads when a command fails: one line in bpoflow's words. Raw
// Node and Temporal error texts ("ENOENT … scandir", "workflow execution already
// completed") say what broke inside, not what to do.
import { CommanderError } from 'commander';
import { NamespaceNotFoundError, ScheduleNotFoundError, WorkflowNotFoundError } from '@temporalio/client';

export const USAGE_EXIT = 2;

/** A usage error: printed with the command's help, exit 2. */
export function usageError(message: string): CommanderError {
  return new CommanderError(USAGE_EXIT, 'bpoflow.usage', message);
}

const FS_CODES: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'is not a folder',
  EACCES: 'permission denied',
  EEXIST: 'already exists',
};

/** The message for an error that reached the top of a command. */
export function explain(err: unknown): string {
  if (err instanceof ScheduleNotFoundError) return `no schedule "${err.scheduleId}" (bpoflow schedule list shows them)`;
  if (err instanceof WorkflowNotFoundError)
    return `no run ${err.workflowId ? `"${err.workflowId}"` : 'with that id'} in this namespace (bpoflow list shows them)`;
  if (err instanceof NamespaceNotFoundError) return `no Temporal namespace "${err.namespace}"`;
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && FS_CODES[e.code] && typeof e.path === 'string')
    return `${e.path}: ${FS_CODES[e.code]}`;
  return err instanceof Error ? err.message : String(err);
}
