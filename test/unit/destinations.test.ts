import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../lib/platform/config.js';
import {
  DestinationRefused,
  destinationGuard,
  ownEndpoints,
  refusal,
  type Destination,
  type DestinationPolicy,
  type Surroundings,
} from '../../lib/platform/destinations.js';

/** A unit test reads no machine's secrets: it gives its own, and a secrets folder that does not exist. */
const withSecrets = (env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  METASYNC_SECRETS_DIR: '/nonexistent/metasync-secrets',
  METASYNC_SECRETS_KEY: randomBytes(32).toString('base64'),
  METASYNC_S3_SECRET_KEY: 'unit-test-s3-secret',
  ...env,
});
const defaults = loadConfig(withSecrets()).destinations;
const development: DestinationPolicy = { ...defaults, allowLoopback: true };

/** A host whose own address is 192.0.2.2, with MetaSync's services around it as a deployment might have them. */
const surroundings: Surroundings = {
  localAddresses: ['127.0.0.1', '::1', '192.0.2.2', 'fd00::2'],
  own: [
    {
      service: 'PostgreSQL control plane',
      host: 'pg.internal',
      port: 5432,
      database: 'metasync_production',
      addresses: ['10.0.0.5'],
    },
    { service: 'Cassandra', host: 'cassandra.internal', port: 9042, addresses: ['10.0.0.6', 'fd00::6'] },
    { service: 'Kafka', host: '127.0.0.1', port: 9092, addresses: ['127.0.0.1'] },
  ],
};

const judge = (policy: DestinationPolicy, addresses: string[], destination: Partial<Destination> = {}) =>
  refusal(policy, surroundings, { host: 'db.example.com', port: 5432, ...destination }, addresses);

describe('destination policy', () => {
  it('by default refuses loopback, unspecified, link-local and this host’s own addresses, in every spelling', () => {
    for (const address of [
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '0.0.0.0',
      '::',
      '169.254.169.254',
      '::ffff:169.254.169.254',
      'fe80::1',
      '192.0.2.2',
      'fd00::2',
    ]) {
      assert.ok(judge(defaults, [address]), `${address} should be refused`);
    }
  });

  it('by default allows other addresses on any port', () => {
    assert.equal(judge(defaults, ['203.0.113.7']), undefined);
    assert.equal(judge(defaults, ['2001:db8::7'], { port: 6432 }), undefined);
    assert.equal(judge(defaults, ['10.0.0.5'], { port: 6432 }), undefined, 'the control plane’s host, another port');
  });

  it('refuses MetaSync’s own endpoints, whichever of their addresses is named', () => {
    assert.match(judge(defaults, ['10.0.0.5'])!, /MetaSync's own PostgreSQL control plane/);
    assert.match(judge(defaults, ['10.0.0.5'], { database: 'sales' })!, /control plane/, 'any database of it');
    assert.match(judge(defaults, ['fd00::6'], { port: 9042 })!, /Cassandra/);
    assert.match(judge(defaults, ['::ffff:10.0.0.6'], { port: 9042 })!, /Cassandra/);
  });

  it('refuses a name when any one of its addresses is refused', () => {
    assert.match(judge(defaults, ['203.0.113.7', '169.254.169.254'])!, /169\.254\.169\.254 is link-local/);
    assert.match(judge(defaults, [])!, /has no address/);
    assert.match(judge(defaults, ['not-an-address'])!, /not an address/);
  });

  it('applies the operator’s denied and allowed ranges and ports', () => {
    const policy: DestinationPolicy = {
      ...defaults,
      allow: ['203.0.113.0/24', '2001:db8::/32'],
      deny: ['203.0.113.128/25'],
      ports: [
        [5432, 5432],
        [3306, 3307],
      ],
    };
    assert.equal(refusal(policy, surroundings, { host: 'h', port: 5432 }, ['203.0.113.7']), undefined);
    assert.equal(refusal(policy, surroundings, { host: 'h', port: 3307 }, ['2001:db8::1']), undefined);
    assert.match(refusal(policy, surroundings, { host: 'h', port: 5432 }, ['203.0.113.200'])!, /denied range/);
    assert.match(refusal(policy, surroundings, { host: 'h', port: 5432 }, ['198.51.100.1'])!, /outside the allowed/);
    assert.match(refusal(policy, surroundings, { host: 'h', port: 22 }, ['203.0.113.7'])!, /port 22 is not an allowed/);
  });

  it('in development, allows loopback but still refuses link-local and MetaSync’s own endpoints there', () => {
    assert.equal(judge(development, ['127.0.0.1'], { port: 3306 }), undefined);
    assert.equal(judge(development, ['::1'], { port: 5433 }), undefined);
    assert.match(judge(development, ['169.254.169.254'])!, /link-local/);
    // Kafka listens on loopback: every loopback address, and the host's own, reach it.
    for (const address of ['127.0.0.1', '127.0.0.2', '::1', '0.0.0.0', '192.0.2.2']) {
      assert.match(judge(development, [address], { port: 9092 })!, /MetaSync's own Kafka/, address);
    }
  });

  it('in development, refuses the control plane’s own database but not the other databases of its server', () => {
    const stack: Surroundings = {
      localAddresses: ['127.0.0.1'],
      own: [
        {
          service: 'PostgreSQL control plane',
          host: '127.0.0.1',
          port: 5432,
          database: 'metasync_production',
          addresses: ['127.0.0.1'],
        },
      ],
    };
    const at = (database?: string) =>
      refusal(development, stack, { host: 'localhost', port: 5432, ...(database && { database }) }, ['127.0.0.1']);
    assert.match(at('metasync_production')!, /control plane/);
    assert.equal(at('sales'), undefined);
    assert.match(at()!, /control plane/, 'a connection naming no database (MySQL) is refused there');
    assert.match(refusal(defaults, stack, { host: 'h', port: 5432, database: 'sales' }, ['127.0.0.1'])!, /loopback/);
  });
});

describe('destination guard', () => {
  const own = [{ service: 'Kafka', host: 'kafka.internal', port: 9092 }];
  const names: Record<string, string[]> = {
    'db.example.com': ['203.0.113.7', '2001:db8::7'],
    'kafka.internal': ['10.0.0.9'],
    'sneaky.example.com': ['203.0.113.8', '127.0.0.1'],
  };
  const resolve = (host: string) =>
    names[host]
      ? Promise.resolve(names[host])
      : /^[\d.:a-f]+$/.test(host)
        ? Promise.resolve([host])
        : Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }));
  const guard = destinationGuard(defaults, own, resolve);

  it('pins the first address once every one is checked', async () => {
    assert.equal(await guard.pin({ host: 'db.example.com', port: 5432 }), '203.0.113.7');
    assert.deepEqual(await guard.addresses({ host: '[2001:db8::1]', port: 5432 }), ['2001:db8::1']);
  });

  it('refuses after resolution: a name with a refused address, or one of MetaSync’s own', async () => {
    await assert.rejects(guard.pin({ host: 'sneaky.example.com', port: 5432 }), DestinationRefused);
    await assert.rejects(guard.pin({ host: '10.0.0.9', port: 9092 }), /MetaSync's own Kafka/);
    await assert.rejects(guard.pin({ host: 'nowhere.example.com', port: 5432 }), /ENOTFOUND/);
  });

  it('gives HTTP agents a lookup that answers checked addresses only', async () => {
    const lookup = guard.lookup(443);
    const answer = (host: string, all: boolean) =>
      new Promise<unknown>((resolve, reject) =>
        lookup(host, { all }, (error, address, family) => (error ? reject(error) : resolve({ address, family }))),
      );
    assert.deepEqual(await answer('db.example.com', false), { address: '203.0.113.7', family: 4 });
    assert.deepEqual(await answer('db.example.com', true), {
      address: [
        { address: '203.0.113.7', family: 4 },
        { address: '2001:db8::7', family: 6 },
      ],
      family: undefined,
    });
    await assert.rejects(answer('sneaky.example.com', true), DestinationRefused);
  });
});

describe('destination settings', () => {
  it('default to any address on any port, loopback refused', () => {
    assert.deepEqual(defaults, { allow: ['0.0.0.0/0', '::/0'], deny: [], ports: [[1, 65535]], allowLoopback: false });
  });

  it('read CIDRs, ports and ranges, and the development flag', () => {
    const { destinations } = loadConfig(
      withSecrets({
        METASYNC_DESTINATIONS_ALLOW: '10.0.0.0/8, fd00::/8',
        METASYNC_DESTINATIONS_DENY: '10.1.0.0/16',
        METASYNC_DESTINATIONS_PORTS: '5432,3306-3307',
        METASYNC_DESTINATIONS_ALLOW_LOOPBACK: 'true',
      }),
    );
    assert.deepEqual(destinations, {
      allow: ['10.0.0.0/8', 'fd00::/8'],
      deny: ['10.1.0.0/16'],
      ports: [
        [5432, 5432],
        [3306, 3307],
      ],
      allowLoopback: true,
    });
  });

  it('name each wrong setting', () => {
    assert.throws(
      () =>
        loadConfig(
          withSecrets({
            METASYNC_DESTINATIONS_DENY: '10.0.0.0/33',
            METASYNC_DESTINATIONS_PORTS: '0-80',
            METASYNC_DESTINATIONS_ALLOW_LOOPBACK: 'yes',
          }),
        ),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /METASYNC_DESTINATIONS_DENY: expected CIDRs/);
        assert.match(error.message, /METASYNC_DESTINATIONS_PORTS: expected ports within 1-65535/);
        assert.match(error.message, /METASYNC_DESTINATIONS_ALLOW_LOOPBACK: /);
        return true;
      },
    );
  });

  it('know MetaSync’s own endpoints from the configuration', () => {
    const endpoints = ownEndpoints(loadConfig(withSecrets())).map(({ service, host, port, database }) =>
      [service, `${host}:${port}`, database].filter(Boolean).join(' '),
    );
    assert.deepEqual(endpoints, [
      'PostgreSQL control plane 127.0.0.1:5432 metasync_production',
      'PostgreSQL control plane (migrations) 127.0.0.1:5432 metasync_production',
      'Cassandra 127.0.0.1:9042',
      'Kafka 127.0.0.1:9092',
      'Temporal 127.0.0.1:7233',
      'Temporal Web UI 127.0.0.1:8233',
      'S3 127.0.0.1:9000',
      'Spark 127.0.0.1:7077',
      'Spark UI 127.0.0.1:8080',
      'API 127.0.0.1:8090',
    ]);
  });
});
