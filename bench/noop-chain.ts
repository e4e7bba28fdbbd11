/**
 * A pipeline of `n` test.noop steps, each needing the previous one: the benchmark's
 * measure of per-step engine overhead. Needs the test kinds (test/kinds/catalog.ts: testKindsEnv).
 */
export function noopChain(n: number, opts: { name?: string; sleepMs?: number; cache?: boolean } = {}): string {
  if (!Number.isInteger(n) || n < 1) throw new Error(`noopChain: n must be a positive integer, got ${n}`);
  const lines = [
    'apiVersion: bpoflow/v1',
    'kind: Pipeline',
    'metadata:',
    `  name: ${opts.name ?? `noop-chain-${n}`}`,
    `description: ${n} no-op steps in a chain`,
    'defaults:',
    `  cache: ${opts.cache ?? false}`,
    'steps:',
  ];
  for (let i = 1; i <= n; i++) {
    lines.push(
      `  - id: s${i}`,
      '    uses: test.noop@v1',
      `    with: { sleepMs: ${opts.sleepMs ?? 0}, value: "s${i}" }`,
    );
    if (i > 1) lines.push(`    needs: [s${i - 1}]`);
  }
  lines.push('outputs:', `  last: "\${{ steps.s${n}.outputs.value }}"`);
  return `${lines.join('\n')}\n`;
}
