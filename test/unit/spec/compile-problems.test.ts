// One test per problem class, asserting the exact line users see.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HEADER, problemLines, yaml } from './support.js';

describe('compile problems', () => {
  it('reports YAML syntax errors with their position', () => {
    const text = yaml(...HEADER, 'steps:', '  - id: a', '    uses: test.noop@v1', '    with: value: 1');
    assert.deepEqual(problemLines(text), [
      'p.yaml:8:11: YAML syntax error: Nested mappings are not allowed in compact mappings',
    ]);
  });

  it('reports duplicate keys as YAML errors', () => {
    const text = yaml(...HEADER, 'kind: Pipeline', 'steps: []');
    assert.deepEqual(problemLines(text), ['p.yaml:5:1: YAML syntax error: Map keys must be unique']);
  });

  it('reports a YAML alias bomb at the alias that exceeds the limit, not as a crash', () => {
    // "Billion laughs": each level is 9 aliases of the one above, 9^5 nodes if expanded.
    const bomb = ['x0: &a0 [l, l, l, l, l, l, l, l, l]'];
    for (let i = 1; i <= 5; i++)
      bomb.push(
        `x${i}: &a${i} [${Array(9)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const text = yaml(...HEADER, ...bomb, 'steps:', '  - id: a', '    uses: test.noop@v1');
    assert.deepEqual(problemLines(text), [
      'p.yaml:9:10: YAML aliases expand beyond the limit of 1000 (a "billion laughs" alias bomb?); use fewer aliases',
    ]);
  });

  it('ordinary aliases still compile', () => {
    const text = yaml(...HEADER, 'steps:', '  - id: a', '    uses: &kind test.noop@v1', '  - id: b', '    uses: *kind');
    assert.deepEqual(problemLines(text), []);
  });

  it('says a non-mapping file is not a pipeline', () => {
    assert.deepEqual(problemLines('- a\n'), [
      'p.yaml:1:1: a pipeline file must be a YAML mapping (apiVersion, kind, metadata, steps, …)',
    ]);
  });

  it('reports unknown keys at the key, suggesting the likely one', () => {
    const text = yaml(...HEADER, 'steps:', '  - id: a', '    uses: test.noop@v1', '    nedds: [b]');
    assert.deepEqual(problemLines(text), ['p.yaml:8:5: steps[0]: unknown key "nedds"; did you mean "needs"?']);
  });

  it('lists the allowed keys when no key is close', () => {
    const text = yaml(...HEADER, '  colour: red', 'steps:', '  - id: a', '    uses: test.noop@v1');
    assert.deepEqual(problemLines(text), [
      'p.yaml:5:3: metadata: unknown key "colour" (allowed: annotations, labels, name)',
    ]);
  });

  it('suggests for top-level typos', () => {
    const text = yaml(...HEADER, 'stpes:', '  - id: a', '    uses: test.noop@v1');
    assert.deepEqual(problemLines(text), [
      'p.yaml:1:1: missing required key "steps"',
      'p.yaml:5:1: unknown key "stpes"; did you mean "steps"?',
    ]);
  });

  it('reports wrong types with the YAML path', () => {
    const text = yaml(...HEADER, 'steps:', '  - id: a', '    uses: test.noop@v1', '    shards: four');
    assert.deepEqual(problemLines(text), ['p.yaml:8:13: steps[0].shards: must be an integer, not the string "four"']);
  });

  it('explains bad durations', () => {
    const text = yaml(...HEADER, 'steps:', '  - id: a', '    uses: test.noop@v1', '    timeout: 30');
    assert.deepEqual(problemLines(text), [
      'p.yaml:8:14: steps[0].timeout: must be a duration such as 500ms, 30s, 5m, 2h or 1h30m',
    ]);
  });

  it('reports a missing required key at the object', () => {
    const text = yaml(...HEADER, 'steps:', '  - id: a');
    assert.deepEqual(problemLines(text), ['p.yaml:6:5: steps[0]: missing required key "uses"']);
  });

  it('reports a malformed `uses`', () => {
    const text = yaml(...HEADER, 'steps:', '  - id: a', '    uses: test.noop');
    assert.deepEqual(problemLines(text), ['p.yaml:7:11: steps[0].uses: must be <kind>@v<N>, e.g. dataset.stats@v1']);
  });

  it('reports invalid step ids', () => {
    const text = yaml(...HEADER, 'steps:', '  - id: Train', '    uses: test.noop@v1');
    assert.deepEqual(problemLines(text), [
      "p.yaml:6:9: steps[0].id: step ids must start with a lowercase letter and contain only a-z, 0-9, '_' and '-'",
    ]);
  });

  it('reports unknown step kinds, suggesting a close one', () => {
    const text = yaml(
      ...HEADER,
      'steps:',
      '  - id: a',
      '    uses: test.nop@v1',
      '  - id: b',
      '    uses: fancy.thing@v1',
    );
    assert.deepEqual(problemLines(text), [
      'p.yaml:7:11: steps[0].uses: unknown step kind "test.nop"; did you mean "test.noop"?',
      'p.yaml:9:11: steps[1].uses: unknown step kind "fancy.thing" (known: test.block, test.noop, test.shard)',
    ]);
  });

  it('reports unknown versions of a known kind', () => {
    const text = yaml(...HEADER, 'steps:', '  - id: a', '    uses: test.noop@v9');
    assert.deepEqual(problemLines(text), ['p.yaml:7:11: steps[0].uses: test.noop@v9: unknown version (known: v1)']);
  });

  it('reports duplicate step ids at the second one', () => {
    const text = yaml(
      ...HEADER,
      'steps:',
      '  - id: a',
      '    uses: test.noop@v1',
      '  - id: a',
      '    uses: test.noop@v1',
    );
    assert.deepEqual(problemLines(text), ['p.yaml:8:9: steps[1].id: duplicate step id "a"; steps[0] already uses it']);
  });

  it('reports unknown and self needs', () => {
    const text = yaml(
      ...HEADER,
      'steps:',
      '  - id: prep',
      '    uses: test.noop@v1',
      '  - id: train',
      '    uses: test.noop@v1',
      '    needs: [prpe, train]',
    );
    assert.deepEqual(problemLines(text), [
      'p.yaml:10:13: steps[1].needs[0]: unknown step "prpe"; did you mean "prep"?',
      'p.yaml:10:19: steps[1].needs[1]: step "train" cannot need itself',
    ]);
  });

  it('reports bad references at the exact token', () => {
    const text = yaml(
      ...HEADER,
      'params:',
      '  beta: { type: number, default: 0.1 }',
      'inputs:',
      '  data: { uri: "s3://b/k" }',
      'steps:',
      '  - id: a',
      '    uses: test.noop@v1',
      '    with:',
      '      value: "${{ params.betta }}-${{ inputs.dat }}-${{ steps.b.outputs.vlaue }}-${{ steps.zz.outputs.x }}"',
      '  - id: b',
      '    uses: test.noop@v1',
      '    with: { value: "${{ steps.b.outputs.value }} ${{ github.sha }}" }',
    );
    assert.deepEqual(problemLines(text), [
      'p.yaml:13:19: steps[0].with.value: unknown param "betta"; did you mean "beta"?',
      'p.yaml:13:39: steps[0].with.value: unknown input "dat"; did you mean "data"?',
      'p.yaml:13:57: steps[0].with.value: step "b" (test.noop@v1) has no output "vlaue"; did you mean "value"?',
      'p.yaml:13:86: steps[0].with.value: unknown step "zz" (known: a, b)',
      'p.yaml:16:25: steps[1].with.value: step "b" cannot use its own outputs',
      'p.yaml:16:54: steps[1].with.value: unknown name "github": expressions can use params.<name>, inputs.<name> or steps.<id>.outputs.<name>',
    ]);
  });

  it('reports malformed references', () => {
    const text = yaml(
      ...HEADER,
      'steps:',
      '  - id: a',
      '    uses: test.noop@v1',
      '  - id: b',
      '    uses: test.noop@v1',
      '    with: { value: "${{ steps.a.value }}" }',
    );
    assert.deepEqual(problemLines(text), [
      'p.yaml:10:25: steps[1].with.value: invalid reference "steps.a.value": use steps.<id>.outputs.<name>',
    ]);
  });

  it('reports expression syntax errors', () => {
    const text = yaml(
      ...HEADER,
      'params:',
      '  n: { type: integer, default: 1 }',
      'steps:',
      '  - id: a',
      '    uses: test.noop@v1',
      '    if: ${{ params.n = 1 }}',
      '  - id: b',
      '    uses: test.noop@v1',
      '    with: { value: "${{ params.n" }',
    );
    assert.deepEqual(problemLines(text), [
      'p.yaml:10:22: steps[0].if: invalid expression: unexpected "="; use "=="',
      'p.yaml:13:21: steps[1].with.value: invalid expression: "${{" is never closed with "}}"',
    ]);
  });

  it('type-checks comparisons and conditions', () => {
    const text = yaml(
      ...HEADER,
      'params:',
      '  n: { type: integer, default: 1 }',
      '  mode: { type: string, default: fast }',
      'steps:',
      '  - id: a',
      '    uses: test.noop@v1',
      "    if: ${{ params.n == 'one' }}",
      '  - id: b',
      '    uses: test.noop@v1',
      '    if: params.mode',
      '  - id: c',
      '    uses: test.noop@v1',
      '    if: ${{ steps.a.outputs.endedAt > true }}',
    );
    assert.deepEqual(problemLines(text), [
      "p.yaml:11:13: steps[0].if: cannot compare params.n (a number) with 'one' (a string)",
      'p.yaml:14:9: steps[1].if: must be a boolean expression, but params.mode is a string',
      'p.yaml:17:39: steps[2].if: ">" compares numbers or strings, but true is a boolean',
    ]);
  });

  it('reports each dependency cycle once, at the edge that starts it', () => {
    const text = yaml(
      ...HEADER,
      'steps:',
      '  - id: a',
      '    uses: test.noop@v1',
      '    needs: [c]',
      '  - id: b',
      '    uses: test.noop@v1',
      '    with: { value: "${{ steps.a.outputs.value }}" }',
      '  - id: c',
      '    uses: test.noop@v1',
      '    needs: b',
      '  - id: x',
      '    uses: test.noop@v1',
      '    with: { value: "${{ steps.y.outputs.value }}" }',
      '  - id: y',
      '    uses: test.noop@v1',
      '    needs: [x]',
    );
    assert.deepEqual(problemLines(text), [
      'p.yaml:8:13: steps[0].needs[0]: dependency cycle: a needs c, c needs b, b needs a',
      'p.yaml:17:25: steps[3].with.value: dependency cycle: x needs y, y needs x',
    ]);
  });

  it("checks `with` against the kind's args schema", () => {
    const text = yaml(
      ...HEADER,
      'steps:',
      '  - id: a',
      '    uses: test.shard@v1',
      '    with: { sleepMs: -1, fial: 2, dat: x }',
      '  - id: b',
      '    uses: test.shard@v1',
    );
    assert.deepEqual(problemLines(text), [
      'p.yaml:8:5: steps[0].with: missing required argument "data" for test.shard@v1',
      'p.yaml:8:22: steps[0].with.sleepMs: must be >= 0, not -1',
      'p.yaml:8:26: steps[0].with: unknown argument "fial" for test.shard@v1 (allowed: data, sleepMs)',
      'p.yaml:8:35: steps[0].with: unknown argument "dat" for test.shard@v1; did you mean "data"?',
      'p.yaml:9:5: steps[1].with: missing required argument "data" for test.shard@v1',
    ]);
  });

  it('checks the static type of run-time values against the argument type', () => {
    const text = yaml(
      ...HEADER,
      'steps:',
      '  - id: a',
      '    uses: test.noop@v1',
      '  - id: b',
      '    uses: test.noop@v1',
      '    with: { sleepMs: "${{ steps.a.outputs.value }}" }',
    );
    assert.deepEqual(problemLines(text), [
      'p.yaml:10:22: steps[1].with.sleepMs: test.noop@v1 expects integer, but the expression is a string',
    ]);
  });

  it('allows shards > 1 only on shardable kinds', () => {
    const text = yaml(...HEADER, 'steps:', '  - id: a', '    uses: test.noop@v1', '    shards: 2');
    assert.deepEqual(problemLines(text), [
      'p.yaml:8:13: steps[0].shards: test.noop@v1 is not shardable; remove "shards" or use 1',
    ]);
  });

  it('checks inputs', () => {
    const text = yaml(
      ...HEADER,
      'inputs:',
      '  a: { uri: "http://x/y" }',
      '  b: { uri: "s3://b/k", path: ./k }',
      '  c: { path: ./nowhere.jsonl }',
      'steps:',
      '  - id: s',
      '    uses: test.noop@v1',
    );
    assert.deepEqual(
      problemLines(text, { checkLocalFiles: true, file: '/tmp/p.yaml' }).map((l) => l.replaceAll('/tmp/', '')),
      [
        'p.yaml:6:13: inputs.a.uri: must be an s3://bucket/key URI',
        'p.yaml:7:6: inputs.b: an input needs exactly one of "uri" (s3://bucket/key) or "path" (a local file)',
        'p.yaml:8:14: inputs.c.path: file not found: nowhere.jsonl',
      ],
    );
  });

  it('checks retry policies', () => {
    const text = yaml(
      ...HEADER,
      'steps:',
      '  - id: a',
      '    uses: test.noop@v1',
      '    retry: { maximumAttempts: 0, initialInterval: 1m, maximumInterval: 10s }',
    );
    assert.deepEqual(problemLines(text), [
      'p.yaml:8:5: steps[0].retry: maximumInterval (10000ms) is shorter than initialInterval (60000ms)',
      'p.yaml:8:31: steps[0].retry.maximumAttempts: must be >= 1, not 0',
    ]);
  });

  it('checks param definitions', () => {
    const text = yaml(
      ...HEADER,
      'params:',
      '  beta: { type: number, default: high }',
      '  epochs: { type: integer, default: 0, minimum: 1 }',
      '  mode: { type: string, enum: [a, b], default: c }',
      '  "bad name": { type: string, default: x }',
      '  flag: { type: bool }',
      'steps:',
      '  - id: a',
      '    uses: test.noop@v1',
    );
    assert.deepEqual(problemLines(text), [
      'p.yaml:6:34: params.beta.default: must be a number, not the string "high"',
      'p.yaml:7:37: params.epochs.default: must be >= 1, not 0',
      'p.yaml:8:48: params.mode.default: must be one of "a", "b", not "c"',
      "p.yaml:9:3: params: invalid name \"bad name\": names must start with a letter or '_' and contain only letters, digits, '_' and '-'",
      'p.yaml:10:17: params.flag.type: must be one of "string", "number", "integer", "boolean", not "bool"',
    ]);
  });

  it('reports bad --set values and unknown params', () => {
    const text = yaml(
      ...HEADER,
      'params:',
      '  beta: { type: number, default: 0.1 }',
      '  epochs: { type: integer }',
      'steps:',
      '  - id: a',
      '    uses: test.noop@v1',
    );
    assert.deepEqual(problemLines(text, { overrides: { betta: '0.2', beta: 'abc' } }), [
      'p.yaml:5:1: --set betta=0.2: unknown param "betta"; did you mean "beta"?',
      'p.yaml:6:3: --set beta=abc: param "beta" must be a number, not "abc"',
      'p.yaml:7:3: param "epochs" has no default; set it with --set epochs=<value>',
    ]);
    assert.deepEqual(problemLines(text, { overrides: { epochs: '2.5' } }), [
      'p.yaml:7:3: --set epochs=2.5: param "epochs" must be an integer, not 2.5',
    ]);
    assert.deepEqual(problemLines(text, { paramsFile: { epochs: '3' } }), [
      'p.yaml:7:3: params file: epochs: param "epochs" must be an integer, not "3"',
    ]);
  });

  it('reports every problem of a file, sorted by position', () => {
    const text = yaml(
      'apiVersion: bpoflow/v2',
      'kind: Pipeline',
      'metadata: { name: multi }',
      'steps:',
      '  - id: b',
      '    uses: test.noop@v1',
      '    needs: [zz]',
      '    with: { value: "${{ params.nope }}" }',
      '  - id: a',
      '    uses: test.noop@v3',
      '    shards: 0',
      '  - id: b',
      '    uses: test.noop@v1',
      '    cach: false',
    );
    assert.deepEqual(problemLines(text), [
      'p.yaml:1:13: apiVersion: must be "bpoflow/v1", not "bpoflow/v2"',
      'p.yaml:7:13: steps[0].needs[0]: unknown step "zz" (known: a, b)',
      'p.yaml:8:25: steps[0].with.value: unknown param "nope"',
      'p.yaml:10:11: steps[1].uses: test.noop@v3: unknown version (known: v1)',
      'p.yaml:11:13: steps[1].shards: must be >= 1, not 0',
      'p.yaml:12:9: steps[2].id: duplicate step id "b"; steps[0] already uses it',
      'p.yaml:14:5: steps[2]: unknown key "cach"; did you mean "cache"?',
    ]);
  });
});
