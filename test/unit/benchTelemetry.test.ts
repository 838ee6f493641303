import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { costRow, median, telemetryModes } from '../../bench/support/telemetry.js';

describe('the benchmarks’ telemetry comparison', () => {
  it('takes the median, so one slow run does not move the figure', () => {
    assert.equal(median([5]), 5);
    assert.equal(median([9, 1, 5]), 5);
    assert.equal(median([1, 100, 2, 3]), 2.5);
    assert.equal(median([10, 11, 12, 13, 400]), 12);
  });

  it('says what telemetry cost, as slower or as less', () => {
    assert.equal(costRow('total ms', 100, 104).cost, '4.0%');
    assert.equal(costRow('total ms', 100, 95).cost, '-5.0%');
    assert.equal(costRow('assets/s', 200, 190, true).cost, '5.0%');
  });

  it('runs off, on, or both, and says what it takes otherwise', () => {
    assert.deepEqual(telemetryModes('both'), ['off', 'on']);
    assert.deepEqual(telemetryModes('on'), ['on']);
    assert.throws(() => telemetryModes('maybe'), /off, on or both/);
  });
});
