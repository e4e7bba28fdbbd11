// `bpoflow logs RUN`: the JSON-line logs each step attempt left in the artifact store.
import { ArtifactStore } from '../store/artifacts.js';
import { redact } from '../activities/redact.js';
import { forPeople } from './output.js';

export async function printRunLogs(run: string, opts: { step?: string; format: 'text' | 'json' }): Promise<void> {
  const store = ArtifactStore.fromEnv();
  const prefix = `runs/${run}/${opts.step ? opts.step + '/' : ''}`;
  const entries = (await store.list(prefix))
    .filter((e) => /\/logs\/[^/]+\.jsonl$/.test(e.key))
    .sort((a, b) => a.key.localeCompare(b.key, 'en', { numeric: true })); // attempt-2 before attempt-10
  if (!entries.length) {
    process.stderr.write(`bpoflow: no logs under s3://${store.bucket}/${prefix}\n`);
    process.exitCode = 1;
    return;
  }
  for (const e of entries) {
    const text = new TextDecoder().decode(await store.readBytes(`s3://${store.bucket}/${e.key}`));
    // Workers redact before they write; this also covers logs written before they did.
    for (const line of redact(text).split('\n').filter(Boolean)) {
      if (opts.format === 'json') {
        process.stdout.write(line + '\n');
        continue;
      }
      const r = JSON.parse(line) as Record<string, unknown>;
      const { ts, level, msg, run: _r, step, attempt, ...rest } = r;
      // For people: key=value with rounded numbers (--json keeps the records exact).
      const fields = Object.entries(rest).map(
        ([k, v]) => `${k}=${typeof v === 'number' ? forPeople(v) : typeof v === 'string' ? v : JSON.stringify(v)}`,
      );
      process.stdout.write(
        `${String(ts)} ${String(level).toUpperCase().padEnd(5)} [${String(step)}#${String(attempt)}] ${String(msg)}${fields.length ? '  ' + fields.join(' ') : ''}\n`,
      );
    }
  }
}
