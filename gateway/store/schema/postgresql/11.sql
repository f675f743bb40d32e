-- SQLite's 23: the sender's page of due mail walks the queued rows in id order.
CREATE INDEX outbox_queued ON outbox(id, next_attempt_at) WHERE state = 'queued';
