import kafkajs, { type Admin, type AclEntry } from 'kafkajs';
import { inboundTopicPrefix, outboundTopic, sinkTopicPrefix, topics } from './topics.js';

const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

/**
 * Who may do what on the broker, as data: every Kafka principal MetaSync knows and the ACLs it holds
 * (docs/security.md, "Kafka: who may write and read each topic", is this list in a table). The broker's
 * StandardAuthorizer refuses anything not granted here; only the admin and the controller link are super users
 * (stack/kafka/server.properties).
 */

/** MetaSync's own processes, each its own principal. */
export const SERVICES = ['api', 'bridge', 'worker', 'subscribers'] as const;
export type Service = (typeof SERVICES)[number];

export const servicePrincipal = (service: Service): string => `metasync-${service}`;
/** Tenant principals start with `tenant-`, service principals with `metasync-`: one can never be taken for the other. */
export const tenantPrincipal = (tenant: string): string => `tenant-${tenant}`;
/** A tenant's consumer groups start with `<tenant>.` (tenant ids have no dots, so acme's are not acme-eu's). */
export const tenantGroupPrefix = (tenant: string): string => `${tenant}.`;

type Operation = 'read' | 'write' | 'create';

/** One ACL, or several operations on one resource pattern. Read and write imply describe (Kafka's rule). */
export interface Grant {
  principal: string;
  resource: 'topic' | 'group';
  pattern: 'literal' | 'prefixed';
  name: string;
  operations: readonly Operation[];
}

const topic = (pattern: Grant['pattern'], name: string, ...operations: Operation[]) =>
  ({ resource: 'topic', pattern, name, operations }) as const;
const groups = (prefix: string) =>
  ({ resource: 'group', pattern: 'prefixed', name: prefix, operations: ['read'] }) as const;

/**
 * MetaSync's services serve every tenant: what each may touch is fixed by its job. `groupPrefix` is
 * METASYNC_KAFKA_GROUP_PREFIX; every service group is `<prefix>-...`.
 *
 * An idempotent producer needs no cluster-wide IDEMPOTENT_WRITE: since Kafka 3.0, WRITE on any topic lets a
 * principal get a producer id (KIP-679).
 */
export function serviceGrants(groupPrefix: string): Grant[] {
  const deadLetters = topic('literal', topics.deadLetters, 'write');
  const inbound = 'metasync.inbound.';
  const outbound = 'metasync.outbound.';
  const of = (service: Service, ...grants: Omit<Grant, 'principal'>[]) =>
    grants.map((grant) => ({ principal: servicePrincipal(service), ...grant }));
  return [
    // Webhooks, OpenLineage posts and annotations, for the tenant the request's key or signature proved.
    ...of('api', topic('prefixed', inbound, 'write'), deadLetters),
    // Reads every tenant's inbound topics; knows each record's tenant from its topic.
    ...of('bridge', topic('prefixed', inbound, 'read'), groups(`${groupPrefix}-`), deadLetters),
    // The only writer of outbound topics (creating a tenant's on its first change) and of skeleton events.
    ...of(
      'worker',
      topic('prefixed', outbound, 'write', 'create'),
      topic('literal', topics.events, 'write'),
      deadLetters,
    ),
    // Reads outbound topics (creating one a subscription waits on, never writing it) and writes sink topics.
    ...of(
      'subscribers',
      topic('prefixed', outbound, 'read', 'create'),
      topic('prefixed', 'metasync.sink.', 'write', 'create'),
      groups(`${groupPrefix}-`),
      deadLetters,
    ),
  ];
}

/** A tenant writes its own inbound topics and reads its own outbound and sink topics, in groups of its own. */
export function tenantGrants(tenant: string): Grant[] {
  const principal = tenantPrincipal(tenant);
  return [
    { principal, ...topic('prefixed', inboundTopicPrefix(tenant), 'write') },
    { principal, ...topic('literal', outboundTopic(tenant), 'read') },
    { principal, ...topic('prefixed', sinkTopicPrefix(tenant), 'read') },
    { principal, ...groups(tenantGroupPrefix(tenant)) },
  ];
}

const OPERATIONS = { read: AclOperationTypes.READ, write: AclOperationTypes.WRITE, create: AclOperationTypes.CREATE };

/** The Kafka ACL bindings of some grants (one per operation). */
export function aclEntries(grants: readonly Grant[]): AclEntry[] {
  return grants.flatMap((grant) =>
    grant.operations.map((operation) => ({
      resourceType: grant.resource === 'topic' ? AclResourceTypes.TOPIC : AclResourceTypes.GROUP,
      resourceName: grant.name,
      resourcePatternType: grant.pattern === 'literal' ? ResourcePatternTypes.LITERAL : ResourcePatternTypes.PREFIXED,
      principal: `User:${grant.principal}`,
      host: '*',
      operation: OPERATIONS[operation],
      permissionType: AclPermissionTypes.ALLOW,
    })),
  );
}

/** Creates the ACLs (as the admin). Creating one that exists changes nothing, so this is safe to repeat. */
export async function applyGrants(admin: Admin, grants: readonly Grant[]): Promise<void> {
  await admin.createAcls({ acl: aclEntries(grants) });
}

/** Removes exactly these ACLs (as the admin), e.g. a test tenant's when its test ends. */
export async function revokeGrants(admin: Admin, grants: readonly Grant[]): Promise<void> {
  await admin.deleteAcls({ filters: aclEntries(grants) });
}
