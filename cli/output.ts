// How read commands print: a table for people (numbers rounded), or JSON for
// programs (`--json`, or `-o json`; values exact, field names stable and listed
// in docs/cli.md). One vocabulary of run states everywhere.
import { Option, type Command } from 'commander';

export type OutputFormat = 'table' | 'wide' | 'json';

/** Adds `-o, --output table|wide|json` and `--json` (the same as `-o json`) to a read command. */
export function withOutputOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'wide', 'json']).default('table'))
    .option('--json', 'machine-readable output (the same as -o json)');
}

export function outputFormat(opts: { output?: string; json?: boolean }): OutputFormat {
  return opts.json ? 'json' : ((opts.output as OutputFormat | undefined) ?? 'table');
}

export function printJson(value: unknown, out: NodeJS.WritableStream = process.stdout): void {
  out.write(JSON.stringify(value, null, 2) + '\n');
}

/** A number for people: integers as they are, others to 4 decimals (`0.8007`, not `0.80069…`). JSON keeps it exact. */
export function forPeople(v: unknown): string {
  if (typeof v !== 'number' || !Number.isFinite(v) || Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  return abs >= 1e5 || abs < 1e-3 ? v.toExponential(3) : v.toFixed(4);
}

/** Left-aligned columns with two spaces between them; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header.map((h) => h.toUpperCase())), ...rows.map(line)].join('\n') + '\n';
}

/** The run states bpoflow prints, from the workflow's own status or Temporal's execution status. */
export type RunStateName = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'terminated' | 'timed-out';

/**
 * Temporal's execution status in bpoflow's words. A pipeline that was cancelled through
 * bpoflow ends as a failed execution whose failure type is RunCancelled, so callers that
 * know the failure type pass it.
 */
export function runStateOf(temporalStatus: string, failureType?: string): RunStateName {
  switch (temporalStatus) {
    case 'RUNNING':
    case 'CONTINUED_AS_NEW':
      return 'running';
    case 'COMPLETED':
      return 'succeeded';
    case 'CANCELLED':
    case 'CANCELED':
      return 'cancelled';
    case 'TERMINATED':
      return 'terminated';
    case 'TIMED_OUT':
      return 'timed-out';
    default:
      return failureType === 'RunCancelled' ? 'cancelled' : 'failed';
  }
}
