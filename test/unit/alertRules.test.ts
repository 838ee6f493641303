import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { execa } from 'execa';

// promtool comes with Debian's prometheus package, which `bash stack/up.sh prometheus` (and so `npm test`) installs.
const rules = fileURLToPath(new URL('../../observability/alerts.yml', import.meta.url));
const ruleTests = fileURLToPath(new URL('../../observability/alerts.test.yml', import.meta.url));

async function promtool(...args: string[]): Promise<string> {
  const result = await execa('promtool', args, { reject: false, all: true });
  if (result.failed && 'code' in result && result.code === 'ENOENT') {
    assert.fail('promtool is not installed: run `bash stack/up.sh prometheus` (it installs Debian’s prometheus)');
  }
  assert.equal(result.exitCode, 0, `promtool ${args.join(' ')} failed:\n${result.all}`);
  return result.all;
}

/** The alert names declared in a rules file, and those some rule test expects to fire. */
function alertNames(text: string, pattern: RegExp): Set<string> {
  return new Set([...text.matchAll(pattern)].map((match) => match[1] ?? ''));
}

describe('alerting rules (observability/alerts.yml)', () => {
  it('pass promtool check rules', async () => {
    const output = await promtool('check', 'rules', rules);
    assert.match(output, /SUCCESS: \d+ rules found/);
  });

  it('pass their unit tests (promtool test rules)', async () => {
    const output = await promtool('test', 'rules', ruleTests);
    assert.match(output, /SUCCESS/);
  });

  it('each alert has a rule test in which it fires', () => {
    const declared = alertNames(readFileSync(rules, 'utf8'), /^\s+- alert: (\w+)/gm);
    // An `alertname:` followed (before the next one) by a non-empty exp_alerts list.
    const firing = alertNames(readFileSync(ruleTests, 'utf8'), /alertname: (\w+)\s+exp_alerts:\s*\n\s+- exp_labels/g);
    assert.deepEqual(
      [...declared].filter((name) => !firing.has(name)),
      [],
    );
  });
});
