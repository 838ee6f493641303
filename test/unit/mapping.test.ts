import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { z } from 'zod';
import { EstateAsset, SourceType, type RawRecord } from '../../lib/ingest/contracts.js';
import {
  loadDefaultRules,
  mapRecord,
  mapUntrustedRecord,
  mergeRules,
  parseRules,
  parseRulesOverride,
  portablePatternProblem,
  RulesError,
  type RuleSet,
} from '../../lib/mapping/index.js';
import { NameCase } from '../../lib/mapping/rules.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const Vector = z.object({
  name: z.string(),
  context: z.object({ sourceType: SourceType, connectionId: z.string() }),
  nameCase: NameCase.optional(),
  record: z.unknown(),
  asset: EstateAsset.optional(),
  fingerprint: z.string().optional(),
  rejected: z.string().optional(),
});
const vectors = z
  .object({ cases: z.array(Vector) })
  .parse(JSON.parse(readFileSync(`${root}test/vectors/mapping.json`, 'utf8'))).cases;

const rules = loadDefaultRules();
const withNameCase = (sourceType: SourceType, nameCase: NameCase): RuleSet => {
  const copy = structuredClone(rules);
  copy.sources[sourceType].nameCase = nameCase;
  return copy;
};

describe('mapping rules: the shared vectors', () => {
  it(`maps all ${vectors.length} vectors in TypeScript as they say`, () => {
    for (const vector of vectors) {
      const caseRules = vector.nameCase ? withNameCase(vector.context.sourceType, vector.nameCase) : rules;
      const result = mapUntrustedRecord(vector.record, vector.context, caseRules);
      if (vector.rejected !== undefined) {
        assert.equal(result.ok, false, vector.name);
        if (!result.ok) assert.ok(result.reason.includes(vector.rejected), `${vector.name}: ${result.reason}`);
      } else {
        assert.ok(result.ok, `${vector.name}: ${result.ok ? '' : result.reason}`);
        assert.deepEqual(result.asset, vector.asset, vector.name);
        assert.equal(result.fingerprint, vector.fingerprint, vector.name);
      }
    }
  });

  it('maps the same vectors alike in Python (spark/test_metasync_rules.py exits 0)', async () => {
    const run = await promisify(execFile)('python3', ['spark/test_metasync_rules.py'], {
      cwd: root,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }, // no __pycache__ left in spark/
    });
    assert.match(run.stderr, /\nOK\n?$/);
  });

  it('covers both source shapes, rejections and PII tags', () => {
    const sources = new Set(vectors.map((vector) => vector.context.sourceType));
    assert.deepEqual([...sources].sort(), ['mysql', 'ndjson', 'postgres']);
    assert.ok(vectors.filter((vector) => vector.rejected).length >= 30);
    assert.ok(vectors.filter((vector) => vector.asset?.tags.includes('candidate:PII')).length >= 15);
  });
});

describe('mapping rules: mapRecord', () => {
  const context = { sourceType: 'postgres', connectionId: 'pg' } as const;
  const column: RawRecord = { kind: 'column', path: ['d', 's', 't', 'c'], attributes: { data_type: 'integer' } };

  it('is deterministic, and a changed attribute changes the fingerprint', () => {
    const first = mapRecord({ ...column, attributes: { ...column.attributes } }, context, rules);
    const again = mapRecord({ ...column, attributes: { ...column.attributes } }, context, rules);
    const changed = mapRecord({ ...column, attributes: { data_type: 'bigint' } }, context, rules);
    assert.ok(first.ok && again.ok && changed.ok);
    assert.equal(first.fingerprint, again.fingerprint);
    assert.notEqual(first.fingerprint, changed.fingerprint);
  });

  it('names the asset a rejection concerns once its path is valid', () => {
    const result = mapRecord({ ...column, attributes: {} }, context, rules);
    assert.deepEqual(result, {
      ok: false,
      reason: 'column has no dataType (looked in data_type)',
      qualifiedName: 'postgres://pg/d/s/t/c',
    });
  });
});

describe('mapping rules: tenant overrides', () => {
  const override = parseRulesOverride({
    types: { postgres: [{ pattern: 'geometry(?:\\(.*\\))?', flags: 'i', type: 'geometry' }] },
    sources: { postgres: { nameCase: 'lower', fields: { comment: { from: ['remarks'] } } } },
    enrichment: [{ tag: 'domain:finance', kinds: ['column'], name: { pattern: '.*amount.*', flags: 'i' } }],
    validation: { maxNameLength: 10 },
  });
  const merged = mergeRules(rules, override);

  it('tries the tenant type rules before the defaults and adds enrichment after them', () => {
    assert.deepEqual(merged.types.postgres[0], { pattern: 'geometry(?:\\(.*\\))?', flags: 'i', type: 'geometry' });
    assert.deepEqual(merged.types.postgres.slice(1), rules.types.postgres);
    assert.deepEqual(merged.types.default, rules.types.default);
    assert.deepEqual(merged.enrichment.slice(0, -1), rules.enrichment);
    assert.equal(merged.enrichment.at(-1)?.tag, 'domain:finance');
  });

  it('replaces field mappings and validation key by key, leaving the rest', () => {
    assert.deepEqual(merged.sources.postgres.fields.comment, { from: ['remarks'] });
    assert.deepEqual(merged.sources.postgres.fields.dataType, rules.sources.postgres.fields.dataType);
    assert.equal(merged.sources.postgres.nameCase, 'lower');
    assert.deepEqual(merged.sources.mysql, rules.sources.mysql);
    assert.deepEqual(merged.validation, { ...rules.validation, maxNameLength: 10 });
    parseRules(merged);
  });

  it('changes what mapRecord produces', () => {
    const record: RawRecord = {
      kind: 'column',
      path: ['D', 'S', 'T', 'Amount'],
      attributes: { data_type: 'geometry(Point)', remarks: 'in cents', comment: 'ignored' },
    };
    const result = mapRecord(record, { sourceType: 'postgres', connectionId: 'pg' }, merged);
    assert.ok(result.ok, result.ok ? '' : result.reason);
    assert.equal(result.asset.qualifiedName, 'postgres://pg/d/s/t/amount');
    assert.equal(result.asset.dataType, 'geometry');
    assert.equal(result.asset.comment, 'in cents');
    assert.deepEqual(result.asset.tags, ['domain:finance']);
    const context = { sourceType: 'postgres', connectionId: 'pg' } as const;
    const tooLong = mapRecord({ ...record, path: ['D', 'S', 'T', 'a_long_amount'] }, context, merged);
    assert.deepEqual(tooLong.ok ? null : tooLong.reason, 'path[3] is 13 characters long, over the limit of 10');
  });
});

describe('mapping rules: validation', () => {
  const invalid = (change: (rules: RuleSet) => void): string => {
    const copy: RuleSet = structuredClone(rules);
    change(copy);
    try {
      parseRules(copy);
    } catch (error) {
      assert.ok(error instanceof RulesError);
      return error.message;
    }
    assert.fail('the rule set was accepted');
  };

  it('accepts the default rule set', () => {
    assert.equal(parseRules(JSON.parse(readFileSync(`${root}mappings/default.json`, 'utf8'))).version, 1);
  });

  it('refuses patterns outside the portable subset, saying why and where', () => {
    const message = invalid((r) => r.types.default.unshift({ pattern: '(?<n>int)', flags: 'i', type: 'int32' }));
    assert.match(message, /no named groups, lookbehind or inline flags/);
    assert.match(message, /types\.default\[0\]/);
    assert.match(
      invalid((r) => r.types.mysql.push({ pattern: 'x(\\d+)', flags: '', type: 'string', params: [2] })),
      /group 2/,
    );
    assert.match(
      invalid((r) => r.enrichment.push({ tag: 't', name: { pattern: '\\s+', flags: '' } })),
      /\\s is not portable/,
    );
  });

  const problems: [string, RegExp][] = [
    ['(?i)int', /inline flags/],
    ['\\d{3}', /counted repetition/],
    ['(?:(a)|b)+', /repeated with \* or \+/],
    ['[[a]', /inside a character class/],
    ['café', /printable ASCII/],
    ['(unclosed', /Unterminated group/],
    ['\\1(a)', /\\1 is not portable/],
  ];
  for (const [pattern, problem] of problems) {
    it(`refuses the pattern ${pattern}`, () => assert.match(portablePatternProblem(pattern) ?? '', problem));
  }
  it('allows the constructs the default rules use', () => {
    for (const pattern of ['(?:a|b)(?: ?\\((\\d+)\\))?', '[^a-z]x', '.*e[-_ ]?mail.*', '(a)?', '(?=x)x', '\\[\\]']) {
      assert.equal(portablePatternProblem(pattern), null, pattern);
    }
  });

  it('refuses misspelt keys, wrong versions and unknown kinds', () => {
    assert.match(
      invalid((r) => Object.assign(r.sources.postgres, { nameCas: 'lower' })),
      /nameCas/,
    );
    assert.match(
      invalid((r) => Object.assign(r, { version: 2 })),
      /version/,
    );
    assert.match(
      invalid((r) => Object.assign(r.sources.mysql.paths, { index: 2 })),
      /index/,
    );
    assert.match(
      invalid((r) => Object.assign(r.validation, { maxNameLength: 0 })),
      /maxNameLength/,
    );
  });

  it('refuses an invalid override with a readable error', () => {
    assert.throws(
      () => parseRulesOverride({ sources: { oracle: {} }, enrichment: [{ tag: 'bad tag' }] }),
      (error: unknown) =>
        error instanceof RulesError && /oracle/.test(error.message) && /enrichment\[0\]\.tag/.test(error.message),
    );
  });
});
