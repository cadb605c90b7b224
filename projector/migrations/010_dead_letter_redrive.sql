-- Dead letters can be re-driven (`./chat dead-letters retry`) once what refused them is fixed:
-- a resolved letter stays as a record of what happened; one that failed again says why.
ALTER TABLE dead_letters
  ADD COLUMN resolved_at      timestamptz,
  ADD COLUMN retries          integer NOT NULL DEFAULT 0,
  ADD COLUMN last_retry_error text;
