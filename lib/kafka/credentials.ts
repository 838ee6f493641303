import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config, KafkaCredentials } from '../platform/config.js';

/**
 * SCRAM credentials of Kafka principals. kafkajs speaks SASL/SCRAM but cannot set a credential (the
 * AlterUserScramCredentials API), so this runs Kafka's own ConfigCommand from the jars the stack caches, as the
 * admin. Neither password ever reaches a command line (`ps` would show it): the admin's login and the new credential
 * go in two owner-only files (--command-config, --add-config-file) in a private temporary folder, removed at once.
 * A JVM costs about 2.5 s, which a tenant's onboarding or a rotation can spare.
 */

/** 32 random bytes, base64url: no character that JAAS quoting or the credential syntax would have to escape. */
export const newKafkaPassword = (): string => randomBytes(32).toString('base64url');

/** Kafka's default for SCRAM-SHA-512 is 4096 iterations; its documentation uses 8192. */
const ITERATIONS = 8192;
const TOOL_TIMEOUT_MS = 120_000;

/** The client properties of a SASL/SCRAM login, for Kafka's Java tools. */
export function scramClientProperties(credentials: KafkaCredentials): string {
  return [
    'security.protocol=SASL_PLAINTEXT',
    'sasl.mechanism=SCRAM-SHA-512',
    `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${credentials.username}" password="${credentials.password}";`,
    // Fails within half a minute when the broker cannot be reached, rather than the tool's default minute.
    'default.api.timeout.ms=30000',
    '',
  ].join('\n');
}

/** Creates or replaces `principal`'s SCRAM-SHA-512 credential; the previous password stops working for new logins. */
export async function setScramCredential(
  kafka: Config['kafka'],
  admin: KafkaCredentials,
  principal: string,
  password: string,
): Promise<void> {
  const folder = await mkdtemp(join(tmpdir(), 'metasync-scram-')); // mode 0700
  try {
    const login = join(folder, 'admin.properties');
    const credential = join(folder, 'credential.properties');
    await writeFile(login, scramClientProperties(admin), { mode: 0o600 });
    // In a file, a credential is written without the brackets the command line needs.
    await writeFile(credential, `SCRAM-SHA-512=iterations=${ITERATIONS},password=${password}\n`, { mode: 0o600 });
    const result = await execa(
      join(kafka.javaHome, 'bin', 'java'),
      [
        '-Xmx256m',
        '-XX:TieredStopAtLevel=1',
        '-XX:+UseSerialGC',
        '-cp',
        join(kafka.jarsDir, '*'),
        'kafka.admin.ConfigCommand',
        '--bootstrap-server',
        kafka.brokers.join(','),
        '--command-config',
        login,
        '--entity-type',
        'users',
        '--entity-name',
        principal,
        '--alter',
        '--add-config-file',
        credential,
      ],
      { timeout: TOOL_TIMEOUT_MS, reject: false },
    );
    if (result.exitCode !== 0 || result.failed) {
      const why = `${result.stderr}\n${result.stdout}`
        .trim()
        .split('\n')
        .filter((line) => !/^\s+at /.test(line))
        .slice(-3)
        .join(' ');
      throw new Error(
        `could not set the Kafka credential of ${principal} (Kafka's ConfigCommand ${result.timedOut ? 'timed out' : `exited ${result.exitCode}`}: ${why || 'no output'}); check that Kafka is up and that ${kafka.jarsDir} holds its jars (bash stack/up.sh kafka)`,
      );
    }
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
