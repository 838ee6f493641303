import type pg from 'pg';
import type { Config } from '../lib/platform/config.js';
import { tenantGroupPrefix } from '../lib/kafka/access.js';
import { provisionTenantKafka } from '../lib/kafka/provisioning.js';
import { createApiKey, saveServiceAccount } from '../lib/stores/apiKeys.js';
import { createTenant, deleteNewTenant, type Tenant } from '../lib/stores/tenants.js';
import { INBOUND_KINDS, inboundTopic, outboundTopic, sinkTopicPrefix } from '../lib/kafka/topics.js';

/** The account a new tenant's first admin key belongs to. */
export const FIRST_ADMIN_ACCOUNT = 'admin';

/** What a tenant's producers and consumers need to reach its topics; the password is shown once. */
export interface TenantKafkaAccess {
  bootstrapServers: string[];
  mechanism: 'SCRAM-SHA-512';
  username: string;
  password: string;
  /** Where it produces: one topic per kind, keyed as lib/kafka/topics.ts says. */
  inboundTopics: Record<(typeof INBOUND_KINDS)[number], string>;
  /** Where it reads its annotation changes, in consumer groups of its own prefix. */
  outboundTopic: string;
  sinkTopicPrefix: string;
  consumerGroupPrefix: string;
}

/** Provisions (or re-provisions, rotating the password) a tenant's Kafka topics, ACLs and credential. */
export async function issueTenantKafkaAccess(config: Config, tenant: string): Promise<TenantKafkaAccess> {
  const { username, password } = await provisionTenantKafka(config, tenant);
  return {
    bootstrapServers: [...config.kafka.brokers],
    mechanism: 'SCRAM-SHA-512',
    username,
    password,
    inboundTopics: Object.fromEntries(
      INBOUND_KINDS.map((kind) => [kind, inboundTopic(tenant, kind)]),
    ) as TenantKafkaAccess['inboundTopics'],
    outboundTopic: outboundTopic(tenant),
    sinkTopicPrefix: sinkTopicPrefix(tenant),
    consumerGroupPrefix: tenantGroupPrefix(tenant),
  };
}

/**
 * Creates a tenant with its Kafka topics, ACLs and credential, an "admin" service account and its first admin key:
 * the operator hands the key and the Kafka credential over, and the tenant's administrators make every other
 * account and key themselves. Undefined when the tenant exists. The API's POST /v1/tenants and
 * `npm run tenant -- create` both come here. If Kafka cannot be provisioned, the tenant is not created either, so
 * the same request can simply be made again.
 */
export async function onboardTenant(
  pool: pg.Pool,
  config: Config,
  input: { tenant: string; displayName: string; createdBy: string },
): Promise<
  | { tenant: Tenant; adminKey: { keyId: string; key: string; serviceAccount: string }; kafka: TenantKafkaAccess }
  | undefined
> {
  const tenant = await createTenant(pool, input.tenant, input.displayName);
  if (!tenant) return undefined;
  let kafka: TenantKafkaAccess;
  try {
    kafka = await issueTenantKafkaAccess(config, input.tenant);
  } catch (error) {
    await deleteNewTenant(pool, input.tenant);
    throw error;
  }
  await saveServiceAccount(pool, {
    tenant: input.tenant,
    accountId: FIRST_ADMIN_ACCOUNT,
    description: 'created with the tenant',
  });
  const key = await createApiKey(pool, {
    tenant: input.tenant,
    serviceAccount: FIRST_ADMIN_ACCOUNT,
    name: `first admin key (by ${input.createdBy})`,
    scopes: ['admin'],
  });
  return { tenant, adminKey: { ...key, serviceAccount: FIRST_ADMIN_ACCOUNT }, kafka };
}
