-- Up Migration
-- Why a run failed, in words a user can act on (the innermost failure: e.g. the source refused the credentials).
ALTER TABLE runs ADD COLUMN error text;

-- Down Migration
ALTER TABLE runs DROP COLUMN error;
