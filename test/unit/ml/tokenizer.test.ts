import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../../ml/rng.js';
import { ByteTokenizer, Gpt2Tokenizer, getTokenizer } from '../../../ml/tokenizer.js';

test('byte tokenizer: UTF-8 bytes, EOS 256, PAD 257, round-trips', () => {
  const t = new ByteTokenizer();
  assert.equal(t.vocabSize, 258);
  assert.deepEqual(t.tokenize('hé'), [104, 195, 169]);
  assert.equal(t.detokenize([...t.tokenize('héllo ✓'), t.eosId, t.padId]), 'héllo ✓');
});

test('GPT-2 BPE: known ids, EOS 50256, special text stays text', () => {
  const t = new Gpt2Tokenizer();
  assert.deepEqual(t.tokenize('Hello world'), [15496, 995]);
  assert.equal(t.eosId, 50256);
  assert.equal(t.detokenize([15496, 995, 50256]), 'Hello world');
  assert.ok(!t.tokenize('a <|endoftext|> b').includes(50256));
  assert.equal(getTokenizer('gpt2').name, 'gpt2');
  assert.throws(() => getTokenizer('sentencepiece'), /unknown tokenizer/);
});

test('rng: seeded, state round-trips, permutations and normals sane', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  for (let i = 0; i < 10; i++) assert.equal(a.nextU32(), b.nextU32());
  a.normal();
  const st = a.getState();
  const xs = [a.normal(), a.next(), a.normal()];
  const c = new Rng(0);
  c.setState(JSON.parse(JSON.stringify(st)));
  assert.deepEqual([c.normal(), c.next(), c.normal()], xs);
  assert.deepEqual(
    new Rng(1).permutation(20).sort((x, y) => x - y),
    Array.from({ length: 20 }, (_, i) => i),
  );
  const n = new Rng(3);
  let s = 0,
    s2 = 0;
  for (let i = 0; i < 20000; i++) {
    const v = n.normal();
    s += v;
    s2 += v * v;
  }
  assert.ok(Math.abs(s / 20000) < 0.03 && Math.abs(s2 / 20000 - 1) < 0.05);
});
