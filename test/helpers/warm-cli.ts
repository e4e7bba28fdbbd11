// A `node --import` preload that times the `bpoflow` command without its start-up:
// it loads the CLI's modules, says `warm` on stderr, and holds the command until a
// line arrives on stdin. What follows that line is the command itself: parsing,
// connecting, querying, printing.
import '../../cli/stack-commands.js';
import '../../cli/run-commands.js';
import '../../cli/artifact-commands.js';
import '../../cli/model-commands.js';
import '../../cli/schedule-commands.js';
import '../../cli/resume-command.js';

process.stderr.write('warm\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
process.stdin.destroy();
