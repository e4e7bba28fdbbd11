import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import {
  collect,
  DatasetRowError,
  encodeJsonl,
  readDataset,
  splitHH,
  splitLines,
  type DatasetRecord,
} from '../../../formats/index.js';

const jsonl = (...rows: unknown[]): string =>
  rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';
/** A byte stream cut into awkward chunks (splits lines and multi-byte characters). */
const stream = (text: string, chunk = 7): Readable => {
  const b = Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  for (let i = 0; i < b.length; i += chunk) parts.push(b.subarray(i, i + chunk));
  return Readable.from(parts);
};
const read = async (text: string, opts: Parameters<typeof readDataset>[1] = {}) =>
  collect(readDataset(stream(text), opts));

async function expectRowError(
  text: string,
  row: number,
  reason: RegExp | string,
  opts: Parameters<typeof readDataset>[1] = {},
): Promise<void> {
  await assert.rejects(read(text, { onError: 'fail', ...opts }), (e: unknown) => {
    assert.ok(e instanceof DatasetRowError, `expected DatasetRowError, got ${e}`);
    assert.equal(e.row, row);
    if (typeof reason === 'string') assert.equal(e.reason, reason);
    else assert.match(e.reason, reason);
    assert.match(e.message, new RegExp(`row ${row}: `));
    return true;
  });
}

test('splitLines handles CRLF, missing final newline, and chunk boundaries inside UTF-8', async () => {
  const lines: string[] = [];
  for await (const l of splitLines(stream('a\r\nb€c\n\nlast', 3))) lines.push(l);
  assert.deepEqual(lines, ['a', 'b€c', '', 'last']);
});

test('TRL string pairs are detected and normalized', async () => {
  const { records, report } = await read(
    jsonl({ prompt: 'Q1', chosen: 'good', rejected: 'bad' }, { prompt: 'Q2', chosen: 'yes', rejected: 'no' }),
  );
  assert.equal(report.format, 'pairs');
  assert.deepEqual(records[0], { kind: 'pair', prompt: 'Q1', chosen: 'good', rejected: 'bad', row: 1 });
  assert.equal(records.length, 2);
  assert.equal(report.valid, 2);
});

test('TRL conversational pairs (explicit and implicit prompt)', async () => {
  const user = { role: 'user', content: 'What is 2+2?' };
  const { records, report } = await read(
    jsonl(
      {
        prompt: [user],
        chosen: [{ role: 'assistant', content: '4' }],
        rejected: [{ role: 'assistant', content: '5' }],
      },
      {
        prompt: [user],
        chosen: [{ role: 'assistant', content: 'four' }],
        rejected: [{ role: 'assistant', content: 'five' }],
      },
    ),
  );
  assert.equal(report.format, 'pairs');
  assert.deepEqual(records[0], {
    kind: 'pair',
    prompt: [user],
    chosen: [{ role: 'assistant', content: '4' }],
    rejected: [{ role: 'assistant', content: '5' }],
    row: 1,
  });
  const implicit = await read(
    jsonl({
      chosen: [user, { role: 'assistant', content: '4' }],
      rejected: [user, { role: 'assistant', content: '5' }],
    }),
  );
  assert.equal(implicit.report.format, 'pairs');
  assert.deepEqual(implicit.records[0], {
    kind: 'pair',
    prompt: [user],
    chosen: [{ role: 'assistant', content: '4' }],
    rejected: [{ role: 'assistant', content: '5' }],
    row: 1,
  });
});

test('multi-response rows', async () => {
  const { records, report } = await read(
    jsonl({ prompt: 'P', responses: [{ text: 'a', score: 1 }, { text: 'b', score: 0.5 }, { text: 'c' }] }),
  );
  assert.equal(report.format, 'multi');
  assert.deepEqual(records[0], {
    kind: 'multi',
    prompt: 'P',
    responses: [{ text: 'a', score: 1 }, { text: 'b', score: 0.5 }, { text: 'c' }],
    row: 1,
  });
});

test('conversational SFT rows', async () => {
  const messages = [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: 'hello' },
  ];
  const { records, report } = await read(jsonl({ messages }));
  assert.equal(report.format, 'chat');
  assert.deepEqual(records[0], { kind: 'chat', messages, row: 1 });
});

test('HH-RLHF: prompt is the shared prefix through the last Assistant marker', async () => {
  const chosen =
    '\n\nHuman: What is the capital of France?\n\nAssistant: Paris.\n\nHuman: And of Italy?\n\nAssistant: Rome.';
  const rejected =
    '\n\nHuman: What is the capital of France?\n\nAssistant: Paris.\n\nHuman: And of Italy?\n\nAssistant: Milan, I think.';
  const { records, report } = await read(jsonl({ chosen, rejected }));
  assert.equal(report.format, 'hh');
  // The dialogue keeps its turns, as chat messages.
  assert.deepEqual(records[0], {
    kind: 'pair',
    prompt: [
      { role: 'user', content: 'What is the capital of France?' },
      { role: 'assistant', content: 'Paris.' },
      { role: 'user', content: 'And of Italy?' },
    ],
    chosen: [{ role: 'assistant', content: 'Rome.' }],
    rejected: [{ role: 'assistant', content: 'Milan, I think.' }],
    row: 1,
  });
  // responses sharing their first words: the prompt still stops at the marker
  const s = splitHH('\n\nHuman: 2+2?\n\nAssistant: The answer is 4', '\n\nHuman: 2+2?\n\nAssistant: The answer is 5');
  assert.deepEqual(s, {
    prompt: '\n\nHuman: 2+2?\n\nAssistant:',
    chosen: ' The answer is 4',
    rejected: ' The answer is 5',
  });
});

test('HH-RLHF bad rows', async () => {
  const ok = { chosen: '\n\nHuman: q\n\nAssistant: a', rejected: '\n\nHuman: q\n\nAssistant: b' };
  await expectRowError(
    jsonl(ok, { chosen: '\n\nHuman: q\n\nAssistant: a', rejected: '\n\nHuman: other\n\nAssistant: b' }),
    2,
    /share no prompt ending in/,
  );
  await expectRowError(
    jsonl(ok, ok, { chosen: '\n\nHuman: q only', rejected: '\n\nHuman: q\n\nAssistant: b' }),
    3,
    '"chosen" has no "\\n\\nAssistant:" turn',
  );
  await expectRowError(
    jsonl(ok, { chosen: 'Assistant: a\n\nAssistant: x', rejected: 'Assistant: a\n\nAssistant: y' }),
    2,
    /no "\\n\\nHuman:" turn/,
  );
  await expectRowError(
    jsonl(ok, { chosen: ok.chosen, rejected: ok.chosen }),
    2,
    '"chosen" and "rejected" are identical',
  );
  await expectRowError(
    jsonl(ok, { chosen: '\n\nHuman: q\n\nAssistant:', rejected: '\n\nHuman: q\n\nAssistant: b' }),
    2,
    /"chosen" has an empty response/,
  );
  await expectRowError(jsonl(ok, { chosen: ok.chosen, rejected: 42 }), 2, '"rejected" must be a string');
});

test('pair rows: every kind of bad row gets its 1-based row number and reason', async () => {
  const ok = { prompt: 'p', chosen: 'c', rejected: 'r' };
  await expectRowError(jsonl(ok, '{"prompt": "p", "chosen": '), 2, /^invalid JSON/);
  await expectRowError(jsonl(ok, ok, { prompt: 'p', chosen: 'c' }), 3, 'missing "rejected"');
  await expectRowError(jsonl(ok, { prompt: 'p', chosen: 'c', rejected: 7 }), 2, '"rejected" must be a string');
  await expectRowError(jsonl(ok, { prompt: '   ', chosen: 'c', rejected: 'r' }), 2, '"prompt" must not be empty');
  await expectRowError(
    jsonl(ok, { prompt: 'p', chosen: 'same', rejected: 'same' }),
    2,
    '"chosen" and "rejected" are identical',
  );
  await expectRowError(jsonl(ok, [1, 2]), 2, 'expected a JSON object, got array');
  await expectRowError(jsonl(ok, { chosen: 'c', rejected: 'r' }), 2, 'missing "prompt"');
  await expectRowError(jsonl(ok, { prompt: 'p', chosen: '', rejected: 'r' }), 2, '"chosen" must not be empty');
  // blank lines count toward row numbers
  await expectRowError(
    jsonl(ok, '', '', { prompt: 'p', chosen: 'c', rejected: null }),
    4,
    '"rejected" must be a string',
  );
  // conversational mistakes
  await expectRowError(
    jsonl({
      prompt: [{ role: 'user', content: 'q' }],
      chosen: [{ role: 'assistant', content: 'a' }],
      rejected: [{ role: 'robot', content: 'b' }],
    }),
    1,
    /"rejected\[0\]\.role" must be one of/,
  );
  await expectRowError(
    jsonl({ prompt: [{ role: 'user', content: 'q' }], chosen: [{ role: 'assistant', content: 'a' }], rejected: 'b' }),
    1,
    /"rejected" must be a list of messages/,
  );
});

test('multi and chat bad rows', async () => {
  const m = { prompt: 'p', responses: [{ text: 'a' }, { text: 'b' }] };
  await expectRowError(
    jsonl(m, { prompt: 'p', responses: [{ text: 'a' }] }),
    2,
    '"responses" must have at least 2 entries, got 1',
  );
  await expectRowError(jsonl(m, { prompt: 'p', responses: 'a' }), 2, '"responses" must be a list, got string');
  await expectRowError(
    jsonl(m, { prompt: 'p', responses: [{ text: 'a' }, { text: 'b', score: 'high' }] }),
    2,
    '"responses[1].score" must be a finite number',
  );
  await expectRowError(
    jsonl(m, { prompt: 'p', responses: [{ text: 'a' }, { txt: 'b' }] }),
    2,
    '"responses[1]" is missing "text"',
  );
  const c = {
    messages: [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'yo' },
    ],
  };
  await expectRowError(
    jsonl(c, { messages: [{ role: 'user', content: 'hi' }] }),
    2,
    '"messages" has no assistant turn',
  );
  await expectRowError(jsonl(c, { messages: [] }), 2, '"messages" must not be empty');
  await expectRowError(
    jsonl(c, { messages: [{ role: 'user', content: 5 }] }),
    2,
    '"messages[0].content" must be a string',
  );
  await expectRowError(jsonl(c, { message: [] }), 2, 'missing "messages"');
});

test('format detection failure and explicit format', async () => {
  await expectRowError(jsonl({ text: 'hello' }), 1, /cannot detect dataset format from keys \[text\]/);
  // explicit format: a pairs row in a file declared as chat is reported
  await expectRowError(jsonl({ prompt: 'p', chosen: 'c', rejected: 'r' }), 1, 'missing "messages"', { format: 'chat' });
  await assert.rejects(read('', { format: 'bogus' as never }), /unknown dataset format/);
});

test('skip policy collects issues with row numbers and keeps going', async () => {
  const text = jsonl(
    'not json',
    { prompt: 'p1', chosen: 'c', rejected: 'r' },
    { prompt: 'p2', chosen: 'c' },
    '',
    { prompt: 'p3', chosen: 'x', rejected: 'x' },
    { prompt: 'p4', chosen: 'c', rejected: 'r' },
  );
  const { records, report } = await read(text, { onError: 'skip' });
  assert.deepEqual(
    records.map((r: DatasetRecord) => r.row),
    [2, 6],
  );
  assert.equal(report.format, 'pairs');
  assert.equal(report.rows, 5);
  assert.equal(report.valid, 2);
  assert.equal(report.skipped, 3);
  assert.deepEqual(
    report.issues.map((i) => i.row),
    [1, 3, 5],
  );
  assert.match(report.issues[0]!.reason, /^invalid JSON/);
  assert.equal(report.issues[1]!.reason, 'missing "rejected"');
  assert.equal(report.issues[2]!.reason, '"chosen" and "rejected" are identical');
});

test('large input streams record by record (no whole-file buffering)', async () => {
  let produced = 0;
  async function* gen() {
    for (let i = 0; i < 200_000; i++) {
      produced++;
      yield JSON.stringify({ prompt: `p${i}`, chosen: 'c', rejected: 'r' }) + '\n';
    }
  }
  const ds = readDataset(gen());
  let n = 0;
  for await (const r of ds) {
    n++;
    if (n === 10) {
      assert.equal(r.row, 10);
      assert.ok(produced < 100, `reader pulled ${produced} rows to yield 10`);
      break;
    }
  }
});

test('encodeJsonl writes canonical rows and counts them', async () => {
  const counter = { rows: 0 };
  const recs: unknown[] = [{ kind: 'pair', prompt: 'p', chosen: 'c', rejected: 'r', row: 1 }, { any: 'object' }];
  const chunks: Buffer[] = [];
  for await (const c of encodeJsonl(recs, counter)) chunks.push(c);
  assert.equal(Buffer.concat(chunks).toString(), '{"prompt":"p","chosen":"c","rejected":"r"}\n{"any":"object"}\n');
  assert.equal(counter.rows, 2);
});
