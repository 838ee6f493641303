import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfigOrExit } from '../lib/platform/config.js';
import { ensureTopics } from '../lib/kafka/ensureTopic.js';
import { applyGrants, serviceGrants, SERVICES, servicePrincipal } from '../lib/kafka/access.js';
import { setScramCredential } from '../lib/kafka/credentials.js';
import {
  kafkaAdminCredentials,
  kafkaLoginProblem,
  untilAuthenticates,
  withKafkaAdmin,
} from '../lib/kafka/provisioning.js';

/**
 * `npm run kafka:provision` (stack/services/kafka.sh runs it after each start): as Kafka's admin, makes the shared
 * topics of stack/kafka/topics.txt, gives each MetaSync service its SCRAM credential (the password in its file,
 * kafka-metasync-<service> in METASYNC_SECRETS_DIR) unless the broker already takes it, and grants the services'
 * ACLs. Harmless to repeat. Tenants get theirs at onboarding.
 */

const topicsFile = fileURLToPath(new URL('../stack/kafka/topics.txt', import.meta.url));
const config = loadConfigOrExit();
const admin = kafkaAdminCredentials(config);

const declared = readFileSync(topicsFile, 'utf8')
  .split('\n')
  .map((line) => line.replace(/#.*/, '').trim())
  .filter(Boolean)
  .map((line) => {
    const [name, partitions] = line.split(/\s+/);
    return { name: name!, partitions: Number(partitions) };
  });

await withKafkaAdmin(config, async (client) => {
  for (const { name, partitions } of declared) await ensureTopics(client, [name], partitions);
  await applyGrants(client, serviceGrants(config.kafka.groupPrefix));
});

for (const service of SERVICES) {
  const principal = servicePrincipal(service);
  const { credentials } = loadConfigOrExit({ ...process.env, METASYNC_KAFKA_USERNAME: principal }).kafka;
  if ((await kafkaLoginProblem(config, credentials!)) === undefined) continue;
  await setScramCredential(config.kafka, admin, principal, credentials!.password);
  await untilAuthenticates(config, credentials!);
  console.log(`[stack] kafka: credential of ${principal} set`);
}
console.log(
  `[stack] kafka: topics ${declared.map((topic) => topic.name).join(', ')}; ACLs of ${SERVICES.map(servicePrincipal).join(', ')}`,
);
