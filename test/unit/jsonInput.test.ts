import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  findInputProblem,
  MAX_JSON_DEPTH,
  NUL_PROBLEM,
  parseJsonInput,
  printable,
  SURROGATE_PROBLEM,
  textProblem,
} from '../../lib/platform/jsonInput.js';

const nested = (levels: number, leaf: unknown = 1): unknown => {
  let value = leaf;
  for (let level = 0; level < levels; level++) value = level % 2 ? [value] : { a: value };
  return value;
};

describe('what MetaSync accepts as text and JSON', () => {
  it('refuses NUL and unpaired surrogates anywhere in a string, and accepts paired ones', () => {
    assert.equal(textProblem('plain text, ünïcödé, 表'), undefined);
    assert.equal(textProblem('an emoji 😀 is a surrogate pair'), undefined);
    assert.equal(textProblem('a\u0000b'), NUL_PROBLEM);
    assert.equal(textProblem('\u0000'), NUL_PROBLEM);
    assert.equal(textProblem('high \uD83D alone'), SURROGATE_PROBLEM);
    assert.equal(textProblem('low \uDE00 alone'), SURROGATE_PROBLEM);
    assert.equal(textProblem('reversed \uDE00\uD83D'), SURROGATE_PROBLEM);
    assert.equal(textProblem('at the end \uD83D'), SURROGATE_PROBLEM);
    assert.equal(textProblem('tabs\tand\nnewlines are text'), undefined);
  });

  it('names where the problem is: the field, an array index, or the key itself', () => {
    assert.deepEqual(findInputProblem({ job: { name: 'x\u0000' } }), { path: 'job.name', problem: NUL_PROBLEM });
    assert.deepEqual(findInputProblem({ tables: [{ t: 'ok' }, { t: '\uDC00' }] }), {
      path: 'tables[1].t',
      problem: SURROGATE_PROBLEM,
    });
    assert.deepEqual(findInputProblem({ facets: { ['bad\u0000key']: 1 } }), {
      path: 'facets',
      problem: `has a key that ${NUL_PROBLEM}`,
    });
    assert.deepEqual(findInputProblem('\u0000'), { path: '', problem: NUL_PROBLEM });
    assert.equal(findInputProblem({ a: [1, true, null, 'fine', { b: 2.5 }] }), undefined);
    assert.equal(findInputProblem(undefined), undefined);
  });

  it('reports the first problem in document order', () => {
    assert.equal(findInputProblem({ first: 'a\u0000', second: '\uD800' })?.path, 'first');
    assert.equal(findInputProblem([['\uD800'], '\u0000'])?.path, '[0][0]');
  });

  it(`bounds nesting at ${MAX_JSON_DEPTH} levels, and walks 100,000 levels without overflowing its stack`, () => {
    assert.equal(findInputProblem(nested(MAX_JSON_DEPTH)), undefined);
    const deep = findInputProblem(nested(MAX_JSON_DEPTH + 1));
    assert.match(deep?.problem ?? '', /nests deeper than 64 levels/);
    assert.match(deep?.path ?? '', /^a\[0\]\.a\[0\]\.a/, 'the path down to where it gets too deep');
    const text = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
    const parsed = parseJsonInput(Buffer.from(text));
    assert.equal(parsed.ok, false);
    assert.match(!parsed.ok ? parsed.reason : '', /^invalid event: a\.a\.a.*: nests deeper than 64 levels/);
  });

  it('parses bytes: refuses invalid UTF-8, malformed JSON and escaped NULs, with the field', () => {
    assert.deepEqual(parseJsonInput(Buffer.from('{"a": ["x"]}')), { ok: true, value: { a: ['x'] } });
    assert.deepEqual(parseJsonInput(Buffer.from([0x7b, 0xed, 0xa0, 0x80, 0x7d])), {
      ok: false,
      reason: 'not UTF-8: the bytes are not valid UTF-8 text',
    });
    assert.match((parseJsonInput(Buffer.from('{"a": ')) as { reason: string }).reason, /^malformed JSON/);
    assert.deepEqual(parseJsonInput(Buffer.from('{"name": "x\\u0000"}'), 'body'), {
      ok: false,
      reason: `invalid body: name: ${NUL_PROBLEM}`,
    });
    assert.deepEqual(parseJsonInput(Buffer.from('{"name": ["\\ud800"]}')), {
      ok: false,
      reason: `invalid event: name[0]: ${SURROGATE_PROBLEM}`,
    });
  });

  it('makes any reason printable: what it refuses becomes U+FFFD', () => {
    assert.equal(printable('a\u0000b\uD800c😀'), 'a\uFFFDb\uFFFDc😀');
    assert.doesNotThrow(() => encodeURIComponent(printable('\uDC00')));
  });
});
