-- 22: each ticket's figures for the promise record, kept by triggers as its dates and mail are
-- written (the record read them with six subqueries a ticket: 240 ms for four months at
-- 100,000 tickets): microseconds from receipt to the first acknowledgement the relay
-- accepted; the first reply and resolution dates given (not revisions); the dates promised to
-- the customer met in time and missed ("point" dates are not counted); the revised dates sent.
ALTER TABLE tickets ADD COLUMN ack_delay_us INTEGER;
ALTER TABLE tickets ADD COLUMN first_reply_due TEXT;
ALTER TABLE tickets ADD COLUMN first_resolution_due TEXT;
ALTER TABLE tickets ADD COLUMN dates_met INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN dates_missed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN revised_etas INTEGER NOT NULL DEFAULT 0;
CREATE VIEW ticket_dates AS SELECT k.id AS ticket_id,
    (SELECT c.due_at FROM commitments c WHERE c.ticket_id = k.id
        AND c.kind = 'actionable' AND c.revision_of IS NULL ORDER BY c.id LIMIT 1) AS reply_due,
    (SELECT c.due_at FROM commitments c WHERE c.ticket_id = k.id
        AND c.kind = 'resolution' AND c.revision_of IS NULL ORDER BY c.id LIMIT 1)
        AS resolution_due,
    (SELECT count(*) FROM commitments c WHERE c.ticket_id = k.id AND c.kind != 'point'
        AND c.promised = 1 AND c.met_at IS NOT NULL AND c.met_at <= c.due_at) AS met,
    (SELECT count(*) FROM commitments c WHERE c.ticket_id = k.id AND c.kind != 'point'
        AND c.promised = 1 AND c.missed_at IS NOT NULL) AS missed
    FROM tickets k;
-- (Stored times are UTC, "2026-11-23T15:00:00.000000+00:00": whole seconds through julianday,
-- exact once rounded, then the microseconds' difference.)
CREATE VIEW ticket_mail AS SELECT t.id AS ticket_id,
    (SELECT CAST(round((julianday(substr(a.at, 1, 19)) - julianday(substr(t.received_at, 1, 19)))
        * 86400) AS INTEGER) * 1000000
        + (CASE WHEN substr(a.at, 20, 1) = '.' THEN CAST(substr(a.at, 21, 6) AS INTEGER) ELSE 0 END)
        - (CASE WHEN substr(t.received_at, 20, 1) = '.'
           THEN CAST(substr(t.received_at, 21, 6) AS INTEGER) ELSE 0 END)
        FROM (SELECT min(o.sent_at) AS at FROM outbox o
              WHERE o.ticket_id = t.id AND o.kind = 'ack') a WHERE a.at IS NOT NULL) AS ack_delay_us,
    (SELECT count(*) FROM outbox o WHERE o.ticket_id = t.id AND o.kind = 'revised-eta')
        AS revised
    FROM tickets t;
UPDATE tickets SET (first_reply_due, first_resolution_due, dates_met, dates_missed)
    = (SELECT reply_due, resolution_due, met, missed FROM ticket_dates WHERE ticket_id = tickets.id);
UPDATE tickets SET (ack_delay_us, revised_etas)
    = (SELECT ack_delay_us, revised FROM ticket_mail WHERE ticket_id = tickets.id);
-- The commitments' triggers keep what each ticket owes soonest (15) and its dates, in one
-- write of the ticket, named by NEW's and OLD's ticket (15's update trigger named it through
-- the updated row, and SQLite read every open date of every ticket for each update: 27 ms each
-- with 100,000 open dates).
DROP TRIGGER owed_insert;
DROP TRIGGER owed_update;
DROP TRIGGER owed_delete;
CREATE TRIGGER owed_insert AFTER INSERT ON commitments BEGIN
    UPDATE tickets SET owed_at = (SELECT due FROM ticket_owed WHERE ticket_id = NEW.ticket_id),
        (first_reply_due, first_resolution_due, dates_met, dates_missed)
        = (SELECT reply_due, resolution_due, met, missed FROM ticket_dates
           WHERE ticket_id = NEW.ticket_id)
        WHERE id = NEW.ticket_id;
END;
CREATE TRIGGER owed_update
    AFTER UPDATE OF ticket_id, kind, due_at, met_at, missed_at, superseded_by, promised,
        revision_of
    ON commitments BEGIN
    UPDATE tickets SET owed_at = (SELECT due FROM ticket_owed WHERE ticket_id = NEW.ticket_id),
        (first_reply_due, first_resolution_due, dates_met, dates_missed)
        = (SELECT reply_due, resolution_due, met, missed FROM ticket_dates
           WHERE ticket_id = NEW.ticket_id)
        WHERE id = NEW.ticket_id;
    UPDATE tickets SET owed_at = (SELECT due FROM ticket_owed WHERE ticket_id = OLD.ticket_id),
        (first_reply_due, first_resolution_due, dates_met, dates_missed)
        = (SELECT reply_due, resolution_due, met, missed FROM ticket_dates
           WHERE ticket_id = OLD.ticket_id)
        WHERE id = OLD.ticket_id AND OLD.ticket_id != NEW.ticket_id;
END;
CREATE TRIGGER owed_delete AFTER DELETE ON commitments BEGIN
    UPDATE tickets SET owed_at = (SELECT due FROM ticket_owed WHERE ticket_id = OLD.ticket_id),
        (first_reply_due, first_resolution_due, dates_met, dates_missed)
        = (SELECT reply_due, resolution_due, met, missed FROM ticket_dates
           WHERE ticket_id = OLD.ticket_id)
        WHERE id = OLD.ticket_id;
END;
-- The outbox's: only acknowledgements and revised dates count.
CREATE TRIGGER ticket_mail_insert AFTER INSERT ON outbox
    WHEN NEW.kind = 'revised-eta' OR (NEW.kind = 'ack' AND NEW.sent_at IS NOT NULL) BEGIN
    UPDATE tickets SET (ack_delay_us, revised_etas)
        = (SELECT ack_delay_us, revised FROM ticket_mail WHERE ticket_id = NEW.ticket_id)
        WHERE id = NEW.ticket_id;
END;
-- (ticket_mail is read per ticket through its key, so one statement serves OLD's and NEW's;
-- the grouped ticket_owed above is not, which is why those triggers name each ticket.)
CREATE TRIGGER ticket_mail_update AFTER UPDATE OF ticket_id, kind, sent_at ON outbox
    WHEN OLD.kind IN ('ack', 'revised-eta') OR NEW.kind IN ('ack', 'revised-eta') BEGIN
    UPDATE tickets SET (ack_delay_us, revised_etas)
        = (SELECT ack_delay_us, revised FROM ticket_mail WHERE ticket_id = tickets.id)
        WHERE id IN (OLD.ticket_id, NEW.ticket_id);
END;
CREATE TRIGGER ticket_mail_delete AFTER DELETE ON outbox
    WHEN OLD.kind IN ('ack', 'revised-eta') BEGIN
    UPDATE tickets SET (ack_delay_us, revised_etas)
        = (SELECT ack_delay_us, revised FROM ticket_mail WHERE ticket_id = OLD.ticket_id)
        WHERE id = OLD.ticket_id;
END;
