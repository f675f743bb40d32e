-- 5: mail an upstream filter called spam is kept in state 'spam'; an operator who releases
-- it overrules that verdict for this message. A customer's mail given up on (dead) is told
-- to the SE and SC once.
ALTER TABLE inbox ADD COLUMN spam_released INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN alerted INTEGER NOT NULL DEFAULT 0;
UPDATE outbox SET alerted = 1 WHERE state = 'dead';  -- no alerts about the past
CREATE INDEX outbox_dead_unalerted ON outbox(id) WHERE state = 'dead' AND alerted = 0;
