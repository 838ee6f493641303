import type { Kafka } from 'kafkajs';
import { createKafka } from '../../lib/platform/clients.js';
import { loadConfig, type Config, type KafkaCredentials } from '../../lib/platform/config.js';
import { servicePrincipal, type Service } from '../../lib/kafka/access.js';
import {
  provisionTenantKafka,
  provisionTenantTopics,
  removeTenantKafka,
  withKafkaAdmin,
} from '../../lib/kafka/provisioning.js';

/**
 * Who a test is on Kafka. The broker authenticates every client and its ACLs decide what each may do, so a test
 * runs each MetaSync component as that component's principal (the API as metasync-api, a bridge as
 * metasync-bridge, ...), which proves those ACLs suffice, and does its own looking (tailing the dead letters,
 * pinning a group's offsets) as Kafka's admin, which testConfig() connects as by default.
 */

/** The config of `service`: the same settings, with its Kafka principal (its password from METASYNC_SECRETS_DIR). */
export function asService(config: Config, service: Service): Config {
  const { credentials } = loadConfig({ ...process.env, METASYNC_KAFKA_USERNAME: servicePrincipal(service) }).kafka;
  return { ...config, kafka: { ...config.kafka, credentials } };
}

/** A Kafka client of `service`, or of a tenant's principal given its credentials. */
export function kafkaAs(config: Config, who: Service | KafkaCredentials): Kafka {
  if (typeof who === 'string') return createKafka(asService(config, who).kafka, who);
  return createKafka(config.kafka, who.username, who);
}

/** A tenant's topics and ACLs, as onboarding makes them (no credential: tests produce as a service or the admin). */
export async function tenantTopics(config: Config, ...tenants: string[]): Promise<void> {
  await withKafkaAdmin(config, async (admin) => {
    for (const tenant of tenants) await provisionTenantTopics(config, admin, tenant);
  });
}

/** A tenant's topics, ACLs and a fresh credential of its principal (about 3 s: Kafka's ConfigCommand runs). */
export const tenantOnKafka = (config: Config, tenant: string): Promise<KafkaCredentials> =>
  provisionTenantKafka(config, tenant);

/** Takes a test tenant's topics and ACLs away again, so tests leave the shared broker as they found it. */
export async function dropTenantTopics(config: Config, ...tenants: string[]): Promise<void> {
  for (const tenant of tenants) await removeTenantKafka(config, tenant);
}
