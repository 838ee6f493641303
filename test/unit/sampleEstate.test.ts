import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AssetRecord } from '../../lib/ingest/contracts.js';
import { sampleEstate, sampleEstateSize } from '../../lib/ingest/sampleEstate.js';

describe('sample estate', () => {
  it('is deterministic, valid, and as large as announced', () => {
    const first = [...sampleEstate('acme', 'r1', 3, 4)];
    assert.deepEqual(first, [...sampleEstate('acme', 'r1', 3, 4)]);
    assert.equal(first.length, sampleEstateSize(3, 4));
    for (const asset of first) AssetRecord.parse(asset);
    assert.equal(new Set(first.map((a) => a.qualifiedName)).size, first.length, 'qualified names are unique');
  });
});
