import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dumpAccessProblem, isSafeDumpName, s3Location } from '../../lib/extractors/ndjson/dumpAccess.js';
import { NdjsonConnection } from '../../lib/extractors/ndjson/connection.js';
import { dumpsPrefix } from '../../lib/platform/objectKeys.js';

const bucket = 'metasync';
const problem = (input: Record<string, unknown>, tenant = 'acme') =>
  dumpAccessProblem(NdjsonConnection.parse({ type: 'ndjson', ...input }), tenant, bucket);
const own = { endpoint: 'https://s3.eu-west-1.amazonaws.com', accessKeyId: 'AKIA', secretAccessKey: 'secret' };

describe('dump access', () => {
  it("puts a tenant's dumps apart from what MetaSync writes under its prefix", () => {
    assert.equal(dumpsPrefix('acme'), 'tenants/acme/dumps/');
    assert.deepEqual(s3Location('s3://metasync/tenants/acme/dumps/a.ndjson'), {
      bucket: 'metasync',
      key: 'tenants/acme/dumps/a.ndjson',
    });
    assert.equal(s3Location('file:///tmp/a.ndjson'), undefined);
  });

  it("lets a tenant read its own dumps in MetaSync's bucket, and local files (a starter's)", () => {
    assert.equal(problem({ uri: 's3://metasync/tenants/acme/dumps/estate.ndjson.gz' }), undefined);
    assert.equal(problem({ uri: 's3://metasync/tenants/acme/dumps/2026/11/estate-(1)_v2!.ndjson' }), undefined);
    assert.equal(problem({ uri: 'file:///data/estate.ndjson' }), undefined);
  });

  it("refuses any other part of MetaSync's bucket, saying where to put the dump", () => {
    for (const uri of [
      's3://metasync/tenants/other/dumps/estate.ndjson',
      's3://metasync/tenants/acme-evil/dumps/estate.ndjson',
      's3://metasync/tenants/acme/connections/c/runs/r/raw/containers/b00000/part-00000.ndjson.gz',
      's3://metasync/tenants/acme/dead-letters/metasync.commands/0/1-ab.bin',
      's3://metasync/unattributed/dead-letters/x.bin',
      's3://metasync/tenants/acme/dumps/',
      // Names a path-normalizing server or proxy would lead out of the prefix.
      's3://metasync/tenants/acme/dumps/../../other/dumps/estate.ndjson',
      's3://metasync/tenants/acme/dumps/./estate.ndjson',
      's3://metasync/tenants/acme/dumps//estate.ndjson',
      's3://metasync/tenants/acme/dumps/%2e%2e/estate.ndjson',
      's3://metasync/tenants/acme/dumps/a\\..\\b.ndjson',
    ]) {
      assert.equal(
        problem({ uri }),
        "tenant acme may read dumps under s3://metasync/tenants/acme/dumps/ only, named with letters, digits and !-_.*'() between slashes (POST /v1/tenants/acme/dumps/uploads gives an upload URL)",
        uri,
      );
    }
  });

  it('refuses another bucket without credentials of its own', () => {
    assert.match(problem({ uri: 's3://elsewhere/estate.ndjson' })!, /^MetaSync reads dumps in bucket metasync under/);
    assert.match(
      problem({ uri: 's3://elsewhere/estate.ndjson' })!,
      /give its endpoint, accessKeyId and secretAccessKey/,
    );
  });

  it('lets a tenant read a bucket of its own with its own endpoint and credentials, never MetaSync’s', () => {
    assert.equal(problem({ uri: 's3://their-bucket/any/key.ndjson', ...own, region: 'eu-west-1' }), undefined);
    assert.match(
      problem({ uri: 's3://metasync/tenants/other/dumps/x.ndjson', ...own })!,
      /bucket metasync is MetaSync's own/,
    );
    assert.match(problem({ uri: 's3://metasync/tenants/acme/dumps/x.ndjson', ...own })!, /MetaSync's own: leave out/);
    for (const partial of [
      { endpoint: own.endpoint },
      { accessKeyId: 'AKIA', secretAccessKey: 's' },
      { region: 'x' },
    ]) {
      assert.match(
        problem({ uri: 's3://their-bucket/k', ...partial })!,
        /needs endpoint, accessKeyId and secretAccessKey together/,
      );
    }
    assert.match(problem({ uri: 'file:///data/x.ndjson', ...own })!, /for s3:\/\/ dumps only/);
  });

  it('takes upload names that the rule then accepts, and no others', () => {
    for (const name of ['estate.ndjson.gz', '2026/11/estate.ndjson', "a-b_c!(d)*'.x"]) {
      assert.ok(isSafeDumpName(name), name);
      assert.equal(problem({ uri: `s3://metasync/${dumpsPrefix('acme')}${name}` }), undefined, name);
    }
    for (const name of ['', '../x', 'a/../b', './a', 'a//b', '/a', 'a/', 'a b', 'a%2fb', 'é.ndjson', 'a?b', 'a#b']) {
      assert.ok(!isSafeDumpName(name), name);
    }
  });
});
