-- 13: the data's whole life: a ticket's mail and personal data forgotten after the
-- retention time (or on erasure) while its dates and figures stay; held mail deleted after
-- its own time.
ALTER TABLE tickets ADD COLUMN forgotten_at TEXT;
CREATE INDEX tickets_to_forget ON tickets(resolved_at)
    WHERE state = 'resolved' AND forgotten_at IS NULL;
CREATE INDEX inbox_held_stored ON inbox(stored_at) WHERE state IN ('quarantined', 'spam');
-- A session carries its person's generation: signing out or a new password counts it up,
-- which ends every session signed in before (copies of the cookie too).
ALTER TABLE web_users ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
