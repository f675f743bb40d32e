-- 19: people an unauthenticated mail copied wait for an SE's #cc add before mail reaches them.
ALTER TABLE participants ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
