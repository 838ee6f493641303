import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateMeter } from '../../lib/platform/rateMeter.js';

test('a rate over the recent window, and the time left at it', () => {
  const meter = new RateMeter(10_000);
  meter.add(0, 0);
  assert.equal(meter.perSecond(), undefined); // one sample: no rate yet
  assert.equal(meter.etaMs(100), undefined);
  meter.add(500, 0);
  assert.equal(meter.perSecond(), undefined); // under a second apart
  // A slow start, then 100 a second: after the window has passed, the start no longer counts.
  meter.add(5_000, 10);
  for (let at = 6_000; at <= 30_000; at += 1_000) meter.add(at, 10 + ((at - 5_000) / 1_000) * 100);
  assert.equal(meter.perSecond(), 100);
  assert.equal(meter.etaMs(2_510 + 1_000), 10_000);
  assert.equal(meter.etaMs(100), 0); // past the total already
});

test('no time left is promised while the count stands still', () => {
  const meter = new RateMeter();
  meter.add(0, 50);
  meter.add(5_000, 50);
  assert.equal(meter.perSecond(), 0);
  assert.equal(meter.etaMs(100), undefined);
});
