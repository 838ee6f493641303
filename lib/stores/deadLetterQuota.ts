import type pg from 'pg';

/**
 * Each tenant's daily allowance of dead-letter archive bytes for rejected HTTP bodies (dead_letter_quota). The row is
 * updated in one statement, under its row lock, so API processes share one exact count per tenant and UTC day.
 */

/** An object costs at least this much to keep, however small its body: a flood of tiny bodies is bounded too. */
const MIN_CHARGE_BYTES = 1024;

export const quotaCharge = (bytes: number): number => Math.max(bytes, MIN_CHARGE_BYTES);

/**
 * Takes `bytes` from the tenant's allowance for today, or counts the body as refused when they do not fit.
 * True: archive it. False: over quota, do not.
 */
export async function reserveDeadLetterBytes(
  pool: pg.Pool,
  tenant: string,
  bytes: number,
  bytesPerDay: number,
): Promise<boolean> {
  const charge = quotaCharge(bytes);
  if (charge <= bytesPerDay) {
    const { rowCount } = await pool.query(
      `INSERT INTO dead_letter_quota AS q (tenant, day, archived_bytes, archived_count)
       VALUES ($1, (now() AT TIME ZONE 'UTC')::date, $2, 1)
       ON CONFLICT (tenant, day) DO UPDATE
         SET archived_bytes = q.archived_bytes + EXCLUDED.archived_bytes, archived_count = q.archived_count + 1
         WHERE q.archived_bytes + EXCLUDED.archived_bytes <= $3`,
      [tenant, charge, bytesPerDay],
    );
    if (rowCount === 1) return true;
  }
  await pool.query(
    `INSERT INTO dead_letter_quota AS q (tenant, day, refused_bytes, refused_count)
     VALUES ($1, (now() AT TIME ZONE 'UTC')::date, $2, 1)
     ON CONFLICT (tenant, day) DO UPDATE
       SET refused_bytes = q.refused_bytes + EXCLUDED.refused_bytes, refused_count = q.refused_count + 1`,
    [tenant, bytes],
  );
  return false;
}

/** Gives back a reservation whose archive failed (S3 or Kafka away): the caller is told to send the body again. */
export async function releaseDeadLetterBytes(pool: pg.Pool, tenant: string, bytes: number): Promise<void> {
  await pool.query(
    `UPDATE dead_letter_quota SET archived_bytes = greatest(archived_bytes - $2, 0), archived_count = greatest(archived_count - 1, 0)
     WHERE tenant = $1 AND day = (now() AT TIME ZONE 'UTC')::date`,
    [tenant, quotaCharge(bytes)],
  );
}

export interface DeadLetterQuotaDay {
  day: string;
  archivedBytes: number;
  archivedCount: number;
  refusedBytes: number;
  refusedCount: number;
}

/** Today's counts for a tenant (zeros when nothing was rejected today). */
export async function deadLetterQuotaToday(pool: pg.Pool, tenant: string): Promise<DeadLetterQuotaDay> {
  const { rows } = await pool.query<{ day: string; ab: string; ac: number; rb: string; rc: number }>(
    `SELECT to_char(d.day, 'YYYY-MM-DD') AS day, coalesce(q.archived_bytes, 0) AS ab, coalesce(q.archived_count, 0) AS ac,
            coalesce(q.refused_bytes, 0) AS rb, coalesce(q.refused_count, 0) AS rc
     FROM (SELECT (now() AT TIME ZONE 'UTC')::date AS day) d
     LEFT JOIN dead_letter_quota q ON q.tenant = $1 AND q.day = d.day`,
    [tenant],
  );
  const row = rows[0]!;
  return {
    day: row.day,
    archivedBytes: Number(row.ab),
    archivedCount: row.ac,
    refusedBytes: Number(row.rb),
    refusedCount: row.rc,
  };
}
