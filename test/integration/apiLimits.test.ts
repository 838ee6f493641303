import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { LightMyRequestResponse } from 'fastify';
import assert from 'node:assert/strict';
import { get as httpGet, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { MONTE_CARLO_SIGNATURE_HEADER, signMonteCarloBody } from '../../lib/incidents/monteCarlo/index.js';
import { deadLetterQuotaToday } from '../../lib/stores/deadLetterQuota.js';
import { saveMonteCarloSecret } from '../../lib/stores/monteCarlo.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { eventually, testConfig, uniqueId, uniqueTenant } from '../support/harness.js';

/**
 * The limits a public endpoint needs, on the real API with small limits: per client address, per tenant (counted
 * only once the key is verified), per tenant on the webhook (only once the signature holds), concurrent run-event
 * streams per key, and the daily dead-letter quota of rejected bodies per tenant.
 */

const tenantA = uniqueTenant('limits-a');
const tenantB = uniqueTenant('limits-b');
const secret = 'limits-test-webhook-secret-000000000000';
const monteCarloBody = readFileSync(new URL('../fixtures/montecarlo/anomaly-incident.json', import.meta.url));
const openLineageEvent = JSON.parse(
  readFileSync(new URL('../fixtures/openlineage/spark-complete.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

const rejectedBody = (n: number) => JSON.stringify({ ...openLineageEvent, eventTime: `not a time ${n}` });
/** Room for two rejected bodies a day, not three. */
const quotaBytes = Math.floor(Buffer.byteLength(rejectedBody(0)) * 2.5);

let address = 0;
/** A client address of its own, so a test counts only what it means to count. */
const newAddress = () => `10.0.${Math.floor(++address / 250)}.${(address % 250) + 1}`;

describe('limits of the public endpoints', () => {
  let api: TestApi;
  let keyA: string;
  let keyB: string;

  before(async () => {
    api = await startTestApi(
      testConfig({
        METASYNC_RATE_LIMIT_PER_SOURCE: '5',
        METASYNC_RATE_LIMIT_PER_TENANT: '6',
        METASYNC_RATE_LIMIT_WEBHOOK_PER_TENANT: '3',
        METASYNC_DEAD_LETTER_BYTES_PER_DAY: String(quotaBytes),
      }),
      [tenantA, tenantB],
    );
    keyA = await api.keyOf(tenantA, ['admin']);
    keyB = await api.keyOf(tenantB, ['admin']);
    await saveMonteCarloSecret(api.deps.postgres, api.deps.config.secretsKey, tenantA, secret);
    // An accepted webhook goes to the tenant's own inbound topic, which onboarding would have made.
    await api.stack.tenantTopics(tenantA);
  });

  after(() => api?.close());

  const get = (key: string | undefined, tenant: string, remoteAddress: string) =>
    api.app.inject({
      method: 'GET',
      url: `/v1/tenants/${tenant}`,
      remoteAddress,
      headers: key ? { authorization: `Bearer ${key}` } : {},
    });

  function assertLimited(response: LightMyRequestResponse, whose: RegExp) {
    assert.equal(response.statusCode, 429, response.body);
    assert.match(String(response.headers['retry-after']), /^\d+$/);
    assert.ok(Number(response.headers['retry-after']) <= 60);
    assert.match(response.json<{ error: string }>().error, whose);
  }

  it('limits each client address, whoever it claims to be, and not the others', async () => {
    const source = newAddress();
    for (let n = 0; n < 5; n++) assert.equal((await get(undefined, tenantA, source)).statusCode, 401);
    assertLimited(await get(keyA, tenantA, source), /^too many requests from this address: at most 5 every 60 s/);
    assert.equal((await get(keyA, tenantA, newAddress())).statusCode, 200, 'another address is not limited');
  });

  it('limits each tenant across addresses, counting only requests its keys authenticate', async () => {
    // Strangers naming tenant A spend nothing of A's budget.
    for (let n = 0; n < 6; n++) assert.equal((await get(undefined, tenantA, newAddress())).statusCode, 401);
    // The first test spent one of A's six.
    for (let n = 0; n < 5; n++) assert.equal((await get(keyA, tenantA, newAddress())).statusCode, 200);
    assertLimited(await get(keyA, tenantA, newAddress()), new RegExp(`^too many requests for tenant ${tenantA}`));
    assert.equal((await get(keyB, tenantB, newAddress())).statusCode, 200, 'tenant B has its own budget');
  });

  it("limits a tenant's signed webhooks, while wrong signatures spend none of it", async () => {
    const webhook = (signature: string) =>
      api.app.inject({
        method: 'POST',
        url: `/v1/tenants/${tenantA}/webhooks/monte-carlo`,
        remoteAddress: newAddress(),
        headers: { 'content-type': 'application/json', [MONTE_CARLO_SIGNATURE_HEADER]: signature },
        payload: monteCarloBody,
      });
    for (let n = 0; n < 4; n++) assert.equal((await webhook('0'.repeat(128))).statusCode, 401);
    const signature = signMonteCarloBody(monteCarloBody, secret);
    for (let n = 0; n < 3; n++) assert.equal((await webhook(signature)).statusCode, 202);
    assertLimited(await webhook(signature), new RegExp(`^too many requests to tenant ${tenantA}'s webhook`));
  });

  it('keeps rejected bodies up to the daily quota, then answers and counts them without keeping them', async () => {
    const reject = (n: number) =>
      api.app.inject({
        method: 'POST',
        url: `/v1/tenants/${tenantB}/lineage`,
        remoteAddress: newAddress(),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${keyB}` },
        payload: rejectedBody(n),
      });
    // Tenant B spent one of its six requests above; these are three more.
    const answers = [await reject(0), await reject(1), await reject(2)];
    for (const response of answers) assert.equal(response.statusCode, 400, response.body);
    const errors = answers.map((response) => response.json<{ error: string }>().error);
    assert.match(errors[0]!, /^not an OpenLineage RunEvent .*eventTime.*\(kept for inspection as request /s);
    assert.match(errors[1]!, /\(kept for inspection as request /);
    assert.match(
      errors[2]!,
      new RegExp(`\\(not kept: tenant ${tenantB} has used its ${quotaBytes} bytes of dead-letter archive for today`),
    );
    const today = await deadLetterQuotaToday(api.deps.postgres, tenantB);
    assert.equal(today.archivedCount, 2);
    assert.equal(today.refusedCount, 1);
    const listed = await api.deps.s3.send(
      new ListObjectsV2Command({
        Bucket: api.deps.config.s3.bucket,
        Prefix: `tenants/${tenantB}/dead-letters/http.openlineage/`,
      }),
    );
    assert.equal(listed.KeyCount, 2, 'only the bodies within the quota are archived');
  });
});

describe('run-event streams per API key', () => {
  let api: TestApi;
  const tenant = uniqueTenant('streams');
  const workflowId = `ingest/${tenant}/warehouse/run-open`;

  before(async () => {
    api = await startTestApi(testConfig({ METASYNC_API_MAX_STREAMS_PER_KEY: '2' }), [tenant]);
    // A run whose workflow stays open (nobody polls its task queue), so each stream stays open until closed.
    await api.deps.temporal.workflow.start('ingestEstate', {
      workflowId,
      taskQueue: uniqueId('nobody-polls'),
      args: [],
    });
    await api.deps.postgres.query(
      `INSERT INTO runs (tenant, run_id, kind, workflow_id, connection_id, status) VALUES ($1, 'run-open', 'ingest', $2, 'warehouse', 'running')`,
      [tenant, workflowId],
    );
  });

  after(async () => {
    await api?.deps.temporal.workflow
      .getHandle(workflowId)
      .terminate('test over')
      .catch(() => undefined);
    await api?.close();
  });

  it('holds at most the configured number open at once, and frees a slot when one closes', async () => {
    const base = await api.app.listen({ host: '127.0.0.1', port: 0 });
    const key = await api.keyOf(tenant, ['read']);
    const url = `${base}/v1/tenants/${tenant}/runs/run-open/events`;
    const opened: ClientRequest[] = [];
    /** Opens a stream over its own socket; resolves with the status (and the body of a refusal). */
    const open = () =>
      new Promise<{ status: number; headers: IncomingHttpHeaders; first: string }>((resolve, reject) => {
        const request = httpGet(url, { headers: { authorization: `Bearer ${key}` }, agent: false }, (response) => {
          const status = response.statusCode ?? 0;
          if (status === 200)
            resolve({ status, headers: response.headers, first: '' }); // a stream: it stays open
          else
            response.once('data', (chunk: Buffer) =>
              resolve({ status, headers: response.headers, first: chunk.toString() }),
            );
        });
        request.on('error', reject);
        opened.push(request);
      });

    assert.equal((await open()).status, 200);
    assert.equal((await open()).status, 200);
    const refused = await open();
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['retry-after'], '15');
    assert.match(refused.first, /already watches 2 runs at once/);

    opened[0]!.destroy(); // the client goes away
    const freed = await eventually(
      async () => {
        const again = await open();
        return again.status === 200 ? again : undefined;
      },
      10_000,
      'a slot freed by the closed stream',
    );
    assert.equal(freed.status, 200);
    for (const request of opened) request.destroy();
  });
});
