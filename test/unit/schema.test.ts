import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { searchAttributeKeys } from '../../lib/temporal/searchAttributes.js';
import { splitCql } from '../../lib/stores/migrate.js';

describe('schema files', () => {
  it('splits CQL into statements, dropping comments', () => {
    const statements = splitCql(
      '-- a comment; with a semicolon\nCREATE TABLE a (x int);\n\nCREATE TABLE b (\n y int\n);',
    );
    assert.deepEqual(statements, ['CREATE TABLE a (x int)', 'CREATE TABLE b (\n y int\n)']);
  });

  it('registers with Temporal exactly the search attributes the code declares', () => {
    const registered = readFileSync(new URL('../../stack/temporal/search-attributes.txt', import.meta.url), 'utf8')
      .split('\n')
      .filter((line) => line.trim() && !line.startsWith('#'))
      .map((line) => line.trim().split(/\s+/).join(' '));
    const typeNames: Record<string, string> = { KEYWORD: 'Keyword', BOOL: 'Bool' };
    const declared = searchAttributeKeys.map((key) => `${key.name} ${typeNames[key.type] ?? key.type}`);
    assert.deepEqual(registered.sort(), declared.sort());
  });
});
