-- 8: a resolution date is promised to the customer only when an engineer set it; the
-- policy's resolution date is a target (internal: alerts, never a revised date to the
-- customer). Every resolution row from before came from the policy ("we aim to resolve").
ALTER TABLE commitments ADD COLUMN promised INTEGER NOT NULL DEFAULT 1;
UPDATE commitments SET promised = 0 WHERE kind = 'resolution';
