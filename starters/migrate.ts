import { loadConfigOrExit } from '../lib/platform/config.js';
import { migrateCassandra, migratePostgres } from '../lib/stores/migrate.js';

const config = loadConfigOrExit();
const postgres = await migratePostgres(config.postgres);
console.log(`postgres: ${postgres.length ? `applied ${postgres.join(', ')}` : 'up to date'}`);
const statements = await migrateCassandra(config.cassandra);
console.log(`cassandra: ${statements} schema statements applied (all idempotent)`);
