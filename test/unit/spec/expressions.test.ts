import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toExpr } from '../../../spec/expr-ast.js';
import { evaluate, resolveValue, truthy } from '../../../spec/expr-eval.js';
import { ExprSyntaxError, parseExpression } from '../../../spec/expr-parse.js';
import { parseCondition, parseTemplate } from '../../../spec/template.js';

const expr = (src: string) => toExpr(parseExpression(src));

describe('expression parser', () => {
  it('parses references, literals and precedence', () => {
    assert.deepEqual(expr("params.a == 1 || !inputs.b && steps.my-step.outputs.x != 'it''s'"), {
      op: '||',
      args: [
        { op: '==', args: [{ ref: ['params', 'a'] }, { lit: 1 }] },
        {
          op: '&&',
          args: [
            { op: '!', args: [{ ref: ['inputs', 'b'] }] },
            { op: '!=', args: [{ ref: ['steps', 'my-step', 'outputs', 'x'] }, { lit: "it's" }] },
          ],
        },
      ],
    });
    assert.deepEqual(expr('(true || false) && null == "a\\"b" && -1.5e2 <= 3'), {
      op: '&&',
      args: [
        {
          op: '&&',
          args: [
            { op: '||', args: [{ lit: true }, { lit: false }] },
            { op: '==', args: [{ lit: null }, { lit: 'a"b' }] },
          ],
        },
        { op: '<=', args: [{ lit: -150 }, { lit: 3 }] },
      ],
    });
  });

  it('reports syntax errors with their offset', () => {
    const cases: [string, string, number][] = [
      ['a = 1', 'unexpected "="; use "=="', 2],
      ['a & b', 'unexpected "&"; use "&&"', 2],
      ["'open", 'unterminated string', 0],
      ['(a', 'expected ")" but found the end of the expression', 2],
      ['a ==', 'expected a value but found the end of the expression', 4],
      ['a b', 'unexpected "b"', 2],
      ['a.', 'expected a name after "." but found the end of the expression', 2],
      ['a # b', 'unexpected character "#"', 2],
      ['  ', 'empty expression', 0],
    ];
    for (const [src, message, pos] of cases) {
      assert.throws(
        () => parseExpression(src),
        (e: unknown) => e instanceof ExprSyntaxError && e.message === message && e.pos === pos,
        src,
      );
    }
  });
});

describe('templates', () => {
  it('keeps a whole-string expression as itself (and its type)', () => {
    assert.deepEqual(toExpr(parseTemplate('${{ params.beta }}')), { ref: ['params', 'beta'] });
    assert.deepEqual(toExpr(parseTemplate('  ${{ params.beta }} ')), { ref: ['params', 'beta'] });
  });

  it('turns embedded expressions into concat', () => {
    assert.deepEqual(toExpr(parseTemplate("run-${{ params.n }}-${{ 'a}}b' }}")), {
      concat: [{ lit: 'run-' }, { ref: ['params', 'n'] }, { lit: '-' }, { lit: 'a}}b' }],
    });
  });

  it('accepts bare expressions in conditions, as GitHub Actions does', () => {
    assert.deepEqual(toExpr(parseCondition('params.n > 1')), { op: '>', args: [{ ref: ['params', 'n'] }, { lit: 1 }] });
    assert.deepEqual(toExpr(parseCondition('${{ params.n > 1 }}')), {
      op: '>',
      args: [{ ref: ['params', 'n'] }, { lit: 1 }],
    });
  });

  it('reports offsets relative to the whole string', () => {
    assert.throws(
      () => parseTemplate('ab ${{ x = 1 }}'),
      (e: unknown) => e instanceof ExprSyntaxError && e.pos === 9,
    );
    assert.throws(
      () => parseTemplate('ab ${{ x'),
      (e: unknown) => e instanceof ExprSyntaxError && e.pos === 3,
    );
  });
});

describe('evaluation', () => {
  const values: Record<string, string | number | boolean | null> = {
    'params.n': 3,
    'params.s': 'x',
    'inputs.d': 's3://b/k',
    'params.z': 0,
  };
  const lookup = (ref: string[]) => {
    const key = ref.join('.');
    if (!(key in values)) throw new Error(`unknown ${key}`);
    return values[key]!;
  };
  const ev = (src: string) => evaluate(toExpr(parseTemplate(src)), lookup);

  it('compares without coercion', () => {
    assert.equal(ev('${{ params.n == 3 }}'), true);
    assert.equal(ev("${{ params.n == '3' }}"), false);
    assert.equal(ev('${{ params.n >= 3 && params.n < 4 }}'), true);
    assert.equal(ev("${{ params.s < 'y' }}"), true);
    assert.equal(ev("${{ params.n < 'y' }}"), false);
  });

  it('returns operands from && and ||, like GitHub Actions', () => {
    assert.equal(ev("${{ params.z || 'fallback' }}"), 'fallback');
    assert.equal(ev('${{ params.s && params.n }}'), 3);
    assert.equal(ev('${{ !params.z }}'), true);
  });

  it('stringifies in concatenations', () => {
    assert.equal(ev('${{ inputs.d }}#${{ params.n }}-${{ null }}-${{ true }}'), 's3://b/k#3--true');
  });

  it('resolves nested $expr values', () => {
    assert.deepEqual(
      resolveValue({ a: [1, { $expr: { ref: ['params', 'n'] } }], b: { c: { $expr: { lit: 'x' } } }, d: null }, lookup),
      { a: [1, 3], b: { c: 'x' }, d: null },
    );
  });

  it('treats only false, null, 0, NaN and "" as falsy', () => {
    assert.deepEqual([false, null, 0, NaN, '', 'false', 1, true].map(truthy), [
      false,
      false,
      false,
      false,
      false,
      true,
      true,
      true,
    ]);
  });
});
