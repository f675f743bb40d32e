-- 2: nothing done per message may scan history (every query below used to read whole tables:
-- the per-address caps the outbox, the least-loaded rule the tickets, disposal the inbox).
-- One row per recipient of an automatic mail (ack, revised-eta, status-update): the caps.
CREATE TABLE automatic_mail (
    address TEXT NOT NULL,
    queued_at TEXT NOT NULL
);
CREATE INDEX automatic_mail_address ON automatic_mail(address, queued_at);
WITH RECURSIVE split(address, rest, at) AS (
    SELECT '', rcpt || ',', created_at FROM outbox
        WHERE kind IN ('ack', 'revised-eta', 'status-update')
    UNION ALL
    SELECT substr(rest, 1, instr(rest, ',') - 1), substr(rest, instr(rest, ',') + 1), at
        FROM split WHERE rest != ''
)
INSERT INTO automatic_mail (address, queued_at)
    SELECT address, at FROM split WHERE address != '';

-- Per SE: open tickets and the newest ticket, kept by triggers for the least-loaded rule.
CREATE INDEX tickets_se ON tickets(se, created_at);
CREATE INDEX tickets_state ON tickets(state);
CREATE TABLE se_load (
    se TEXT PRIMARY KEY,
    open INTEGER NOT NULL,
    last_assigned TEXT
);
INSERT INTO se_load (se, open, last_assigned)
    SELECT se, sum(state != 'resolved'), max(created_at) FROM tickets GROUP BY se;
CREATE TRIGGER se_load_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO se_load (se, open, last_assigned)
        VALUES (NEW.se, NEW.state != 'resolved', NEW.created_at)
        ON CONFLICT (se) DO UPDATE SET open = open + (NEW.state != 'resolved'),
            last_assigned = max(coalesce(last_assigned, ''), NEW.created_at);
END;
CREATE TRIGGER se_load_update AFTER UPDATE OF se, state ON tickets
    WHEN OLD.se IS NOT NEW.se OR (OLD.state = 'resolved') IS NOT (NEW.state = 'resolved')
BEGIN
    UPDATE se_load SET open = open - (OLD.state != 'resolved'),
        last_assigned = (SELECT max(created_at) FROM tickets WHERE se = OLD.se)
        WHERE se = OLD.se;
    INSERT INTO se_load (se, open, last_assigned)
        VALUES (NEW.se, NEW.state != 'resolved', NEW.created_at)
        ON CONFLICT (se) DO UPDATE SET open = open + (NEW.state != 'resolved'),
            last_assigned = max(coalesce(last_assigned, ''), NEW.created_at);
END;
CREATE TRIGGER se_load_delete AFTER DELETE ON tickets BEGIN
    UPDATE se_load SET open = open - (OLD.state != 'resolved'),
        last_assigned = (SELECT max(created_at) FROM tickets WHERE se = OLD.se)
        WHERE se = OLD.se;
END;

-- A ticket's commitments (an engineer's reply, #resolved, a pause) without reading them all.
CREATE INDEX commitments_ticket ON commitments(ticket_id);

-- IMAP mail handled but not yet moved: a handful of rows, not the whole inbox.
CREATE INDEX inbox_undisposed ON inbox(mailbox, id)
    WHERE source = 'imap' AND disposed = 0 AND state != 'new';
