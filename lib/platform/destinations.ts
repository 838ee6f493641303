import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Config } from './config.js';
import { log } from './log.js';

/**
 * Where MetaSync connects on a tenant's behalf (a source database, the S3 endpoint of a tenant's own bucket) is
 * checked against the operator's policy (config `destinations`), so that a connection a tenant configures cannot
 * be turned against MetaSync itself or the network it runs in. Refused whatever the policy says: link-local
 * addresses (169.254.169.254 is a cloud's metadata service) and MetaSync's own services (the endpoints in its
 * configuration). Refused unless the development setting allows them: loopback, unspecified and this host's own
 * addresses. Then the operator's denied ranges, allowed ranges and ports apply.
 *
 * A name is resolved once, every address it resolves to is checked, and the caller connects to a checked address:
 * a DNS answer that changes between the check and the connection (rebinding) cannot swap it.
 */

export interface DestinationPolicy {
  /** CIDRs a destination must be in. */
  allow: readonly string[];
  /** CIDRs a destination must not be in (the operator's own networks, say). */
  deny: readonly string[];
  /** Port ranges a destination must be in, both ends included. */
  ports: readonly (readonly [number, number])[];
  /** Development only: the local stack's sources are on 127.0.0.1. */
  allowLoopback: boolean;
}

/** One of MetaSync's own endpoints. A database narrows it (see refusal). */
export interface OwnEndpoint {
  service: string;
  host: string;
  port: number;
  database?: string;
}

export interface Destination {
  host: string;
  port: number;
  /** A PostgreSQL source's database. */
  database?: string;
}

/** Resolves a host name to its addresses (an address resolves to itself). */
export type Resolve = (host: string) => Promise<string[]>;

/** What the check knows about the host it runs on and MetaSync's endpoints, resolved. */
export interface Surroundings {
  /** This host's own interface addresses: they reach whatever listens on every interface, as loopback does. */
  localAddresses: readonly string[];
  own: readonly (OwnEndpoint & { addresses: readonly string[] })[];
}

const family = (address: string) => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

/** "[::1]" (as URLs write IPv6 hosts) is ::1. */
const bare = (host: string) => host.replace(/^\[(.*)\]$/, '$1');

function blockList(cidrs: readonly string[], addresses: readonly string[] = []): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [network = '', prefix = ''] = cidr.split('/');
    list.addSubnet(network, Number(prefix), family(network));
  }
  for (const address of addresses) if (isIP(address)) list.addAddress(address, family(address));
  return list;
}

const LINK_LOCAL = ['169.254.0.0/16', 'fe80::/10'];
// 0.0.0.0 and :: connect to this host on Linux.
const LOOPBACK = ['127.0.0.0/8', '::1/128', '0.0.0.0/8', '::/128'];

/**
 * Why MetaSync may not connect to `destination` at `addresses` (every address its host resolved to), or undefined
 * when it may. The reason is for the operator's log only: a tenant is told the same whatever it is.
 *
 * With loopback allowed (development), the local stack's PostgreSQL is both the control plane and a source server:
 * there, MetaSync's own endpoint that names a database refuses that database only, and its other databases may be
 * read. Without it, MetaSync's endpoints are refused whole.
 */
export function refusal(
  policy: DestinationPolicy,
  surroundings: Surroundings,
  destination: Destination,
  addresses: readonly string[],
): string | undefined {
  const { port } = destination;
  if (!policy.ports.some(([from, to]) => port >= from && port <= to)) return `port ${port} is not an allowed port`;
  if (addresses.length === 0) return `${destination.host} has no address`;
  const linkLocal = blockList(LINK_LOCAL);
  const local = blockList(LOOPBACK, surroundings.localAddresses);
  const denied = blockList(policy.deny);
  const allowed = blockList(policy.allow);
  const isLocal = (address: string) => local.check(address, family(address));
  for (const address of addresses) {
    if (!isIP(address)) return `${address} is not an address`;
    const kind = family(address);
    if (linkLocal.check(address, kind)) return `${address} is link-local`;
    if (isLocal(address) && !policy.allowLoopback) return `${address} is this host (loopback)`;
    if (denied.check(address, kind)) return `${address} is in a denied range`;
    if (!allowed.check(address, kind)) return `${address} is outside the allowed ranges`;
    for (const endpoint of surroundings.own) {
      if (endpoint.port !== port) continue;
      const same = blockList([], endpoint.addresses).check(address, kind);
      // Whatever listens on this host is reached by each of its addresses.
      const sameHost = same || (isLocal(address) && endpoint.addresses.some(isLocal));
      if (!sameHost) continue;
      const otherDatabase =
        policy.allowLoopback &&
        endpoint.database !== undefined &&
        destination.database !== undefined &&
        destination.database !== endpoint.database;
      if (!otherDatabase) return `${address}:${port} is MetaSync's own ${endpoint.service}`;
    }
  }
  return undefined;
}

/** A destination the policy refuses; its message is the operator's reason, never shown to a tenant. */
export class DestinationRefused extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'DestinationRefused';
  }
}

export interface DestinationGuard {
  /**
   * Every address the destination's host resolves to, once each is checked; throws DestinationRefused when one is
   * refused (or the resolver's error). Connect to one of these, never to the name again.
   */
  addresses(destination: Destination): Promise<string[]>;
  /** The address to connect to: the first of `addresses`. */
  pin(destination: Destination): Promise<string>;
  /**
   * For clients that resolve names themselves, per connection (HTTP agents): a dns.lookup that answers checked
   * addresses only. Node calls no lookup for an address, so check an address host with `pin` first as well.
   */
  lookup(port: number): LookupFunction;
}

export const systemResolve: Resolve = async (host) => {
  const name = bare(host);
  if (isIP(name)) return [name];
  return (await dnsLookup(name, { all: true, verbatim: true })).map((found) => found.address);
};

const interfaceAddresses = () =>
  Object.values(networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.address));

export function destinationGuard(
  policy: DestinationPolicy,
  own: readonly OwnEndpoint[],
  resolve: Resolve = systemResolve,
): DestinationGuard {
  // MetaSync's endpoints are resolved afresh for each check: they may move, as a tenant's may.
  const surroundings = async (): Promise<Surroundings> => ({
    localAddresses: interfaceAddresses(),
    own: await Promise.all(
      own.map(async (endpoint) => ({ ...endpoint, addresses: await resolve(endpoint.host).catch(() => []) })),
    ),
  });
  const guard: DestinationGuard = {
    async addresses(destination) {
      const addresses = await resolve(bare(destination.host));
      const reason = refusal(policy, await surroundings(), destination, addresses);
      if (reason !== undefined) {
        log.warn('destination refused by policy', { host: destination.host, port: destination.port, reason });
        throw new DestinationRefused(reason);
      }
      return addresses;
    },
    pin: async (destination) => (await guard.addresses(destination))[0]!,
    lookup: (port) => (hostname, options, callback) => {
      guard.addresses({ host: hostname, port }).then(
        (addresses) => {
          const found: LookupAddress[] = addresses.map((address) => ({ address, family: isIP(address) }));
          if (options.all) callback(null, found);
          else callback(null, found[0]!.address, found[0]!.family);
        },
        (error: NodeJS.ErrnoException) => callback(error, ''),
      );
    },
  };
  return guard;
}

const hostPort = (value: string, fallbackPort: number): { host: string; port: number } => {
  const url = new URL(value.includes('://') ? value : `tcp://${value}`);
  return { host: bare(url.hostname), port: Number(url.port || fallbackPort) };
};

const httpPort = (url: string) => (url.startsWith('https:') ? 443 : 80);

/** MetaSync's own services, as its configuration names them: never a tenant's destination. */
export function ownEndpoints(config: Config): OwnEndpoint[] {
  const postgres = (service: string, url: string): OwnEndpoint => ({
    service,
    ...hostPort(url, 5432),
    database: decodeURIComponent(new URL(url).pathname.slice(1)),
  });
  const http = (service: string, url: string): OwnEndpoint => ({ service, ...hostPort(url, httpPort(url)) });
  return [
    postgres('PostgreSQL control plane', config.postgres.url),
    postgres('PostgreSQL control plane (migrations)', config.postgres.migrationUrl),
    ...config.cassandra.contactPoints.map((point) => ({ service: 'Cassandra', ...hostPort(point, 9042) })),
    ...config.kafka.brokers.map((broker) => ({ service: 'Kafka', ...hostPort(broker, 9092) })),
    { service: 'Temporal', ...hostPort(config.temporal.address, 7233) },
    http('Temporal Web UI', config.temporal.uiUrl),
    http('S3', config.s3.endpoint),
    ...(config.s3.publicEndpoint ? [http('S3 (public endpoint)', config.s3.publicEndpoint)] : []),
    ...(config.spark.master.startsWith('spark://')
      ? [{ service: 'Spark', ...hostPort(config.spark.master, 7077) }]
      : []),
    http('Spark UI', config.spark.uiUrl),
    { service: 'API', host: config.api.host, port: config.api.port },
  ];
}

/** The guard of the configured policy. */
export const configuredDestinations = (config: Config, resolve?: Resolve): DestinationGuard =>
  destinationGuard(config.destinations, ownEndpoints(config), resolve);
