-- 4: our own faults never quarantine a message on its first try (it is held and retried),
-- a failing ticket is shunted instead of stopping the scheduler, and status updates come
-- from an indexed due time instead of a scan of every open ticket.
ALTER TABLE inbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inbox ADD COLUMN retry_at TEXT;     -- held after an internal error until then
ALTER TABLE inbox ADD COLUMN last_error TEXT;
CREATE INDEX inbox_held ON inbox(id) WHERE state = 'new' AND attempts > 0;

-- When the next status update is due: NULL when the customer was just written to (the
-- scheduler computes it on the business calendar, which SQL does not know).
ALTER TABLE tickets ADD COLUMN update_due_at TEXT;
CREATE INDEX tickets_update_due ON tickets(update_due_at)
    WHERE state IN ('new', 'answered') AND update_due_at IS NOT NULL;
CREATE INDEX tickets_update_unknown ON tickets(id)
    WHERE state IN ('new', 'answered') AND update_due_at IS NULL
    AND last_contact_at IS NOT NULL;

CREATE TABLE shunts (                           -- tickets the scheduler failed on
    ticket_id INTEGER PRIMARY KEY REFERENCES tickets(id),
    reason TEXT NOT NULL,                       -- the last error, with its traceback
    attempts INTEGER NOT NULL,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    retry_at TEXT NOT NULL
);
