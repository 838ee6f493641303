import { bundleWorkflowCode } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';

/**
 * The worker's workflow bundle evaluates its modules again for every workflow it starts (each workflow gets fresh
 * module state in the sandbox), so whatever the workflows import is paid for on every incident, every run, every
 * change. zod (its core and the schemas built at module level) cost ~15 ms of the workflow thread per incident;
 * validation belongs in the activities and the bridges, at the edges, not in the workflows.
 */
describe('the workflow bundle', () => {
  let modules: string[] = [];
  before(async () => {
    const { code } = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('../../workflows/index.ts', import.meta.url)),
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
    });
    // webpack names each module of the bundle in a comment line: /***/ "<path>":
    modules = [...code.matchAll(/^\/\*\*\*\/ "([^"]+)"/gm)].map((match) => match[1]!);
  });

  it('holds the workflows', () => {
    assert.ok(modules.some((path) => path.endsWith('workflows/incident.ts')));
  });

  it('holds no zod', () => {
    assert.deepEqual(
      modules.filter((path) => path.includes('node_modules/zod/')),
      [],
    );
  });
});
