import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { cpuOf, cpuPer, stackPids } from '../../bench/support/stackCpu.js';

describe('bench: the CPU of every process an event passes through', () => {
  it("reads the stack's pids from its pid files, and leaves out a missing file or a process that is gone", () => {
    const run = mkdtempSync(`${tmpdir()}/metasync-run-`);
    mkdirSync(`${run}/pids`);
    writeFileSync(`${run}/pids/temporal.pid`, `${process.pid}\n`);
    writeFileSync(`${run}/pids/kafka.pid`, '999999999\n');
    const saved = process.env['METASYNC_RUN'];
    process.env['METASYNC_RUN'] = run;
    try {
      assert.deepEqual(stackPids(), { temporal: process.pid });
    } finally {
      if (saved === undefined) delete process.env['METASYNC_RUN'];
      else process.env['METASYNC_RUN'] = saved;
    }
  });

  it('gives each process its CPU per event between two readings, for the processes read both times', () => {
    assert.deepEqual(cpuPer({ bridge: 100, worker: 400, gone: 5 }, { bridge: 190, worker: 1_400 }, 20), {
      bridge: 4.5,
      worker: 50,
    });
    const mine = cpuOf({ me: process.pid });
    assert.ok(mine.me! > 0, 'this process has used some CPU');
  });
});
