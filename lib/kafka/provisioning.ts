import type { Admin } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKafka } from '../platform/clients.js';
import type { Config, KafkaCredentials } from '../platform/config.js';
import { ensureTopics } from './ensureTopic.js';
import { applyGrants, revokeGrants, tenantGrants, tenantPrincipal } from './access.js';
import { newKafkaPassword, setScramCredential } from './credentials.js';
import { tenantTopics } from './topics.js';

/**
 * A tenant's place on Kafka: its topics (three inbound, one outbound), the ACLs of its principal, and that
 * principal's SCRAM credential. Onboarding makes them (control/onboarding.ts); `npm run tenant -- kafka-credentials`
 * makes them again for a tenant that predates them and rotates the password. Everything here runs as Kafka's admin.
 */

/** How long a new credential may take to reach the broker from the controller before onboarding gives up on it. */
const CREDENTIAL_PROPAGATION_MS = 15_000;

/** Kafka's admin, or what to do about its absence. */
export function kafkaAdminCredentials(config: Config): KafkaCredentials {
  const { admin } = config.kafka;
  if (!admin) {
    throw new Error(
      "creating a tenant's Kafka topics and credential needs Kafka's admin: set METASYNC_KAFKA_ADMIN_PASSWORD (or METASYNC_KAFKA_ADMIN_PASSWORD_FILE); on the local stack, `bash stack/up.sh kafka` makes it (kafka-metasync-admin in METASYNC_SECRETS_DIR)",
    );
  }
  return admin;
}

/** Runs `work` with an admin client of Kafka's admin principal. */
export async function withKafkaAdmin<T>(config: Config, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = createKafka(config.kafka, 'admin', kafkaAdminCredentials(config)).admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/** The tenant's topics and its principal's ACLs, without touching its credential. Harmless to repeat. */
export async function provisionTenantTopics(config: Config, admin: Admin, tenant: string): Promise<void> {
  await ensureTopics(admin, tenantTopics(tenant), config.kafka.tenantPartitions);
  await applyGrants(admin, tenantGrants(tenant));
}

/**
 * Topics, ACLs and a new credential for `tenant`; the password is returned once and kept nowhere. A previous password
 * stops working for new connections at once, and for open ones when they next re-authenticate (the broker's
 * connections.max.reauth.ms).
 */
export async function provisionTenantKafka(config: Config, tenant: string): Promise<KafkaCredentials> {
  const admin = kafkaAdminCredentials(config);
  await withKafkaAdmin(config, (client) => provisionTenantTopics(config, client, tenant));
  const credentials = { username: tenantPrincipal(tenant), password: newKafkaPassword() };
  await setScramCredential(config.kafka, admin, credentials.username, credentials.password);
  await untilAuthenticates(config, credentials);
  return credentials;
}

/** The tenant's topics and ACLs go (its credential stays until set again): for tests that clean up after themselves. */
export async function removeTenantKafka(config: Config, tenant: string): Promise<void> {
  await withKafkaAdmin(config, async (admin) => {
    await revokeGrants(admin, tenantGrants(tenant));
    const existing = new Set(await admin.listTopics());
    const topics = tenantTopics(tenant).filter((topic) => existing.has(topic));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  });
}

/** Why the broker refuses `credentials` (wrong password, no such principal, unreachable), or undefined if it takes them. */
export async function kafkaLoginProblem(config: Config, credentials: KafkaCredentials): Promise<string | undefined> {
  const admin = createKafka(config.kafka, 'credential-check', credentials, { quiet: true }).admin({
    retry: { retries: 0 },
  });
  try {
    await admin.connect();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await admin.disconnect();
  }
}

/** A credential is set on the controller and reaches the broker a moment later: the caller gets one that works. */
export async function untilAuthenticates(config: Config, credentials: KafkaCredentials): Promise<void> {
  const deadline = Date.now() + CREDENTIAL_PROPAGATION_MS;
  for (;;) {
    const problem = await kafkaLoginProblem(config, credentials);
    if (problem === undefined) return;
    if (Date.now() > deadline) {
      throw new Error(
        `the new Kafka credential of ${credentials.username} was not accepted within ${CREDENTIAL_PROPAGATION_MS / 1000}s: ${problem}`,
      );
    }
    await sleep(250);
  }
}
