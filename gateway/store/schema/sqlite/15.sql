-- 15: the conversation keys of mail not yet processed (gateway/mail/conversation.py): with
-- several gateways, a message waits while an earlier one that shares a key is not done;
-- who claimed an outbox row (several gateways send); what each ticket owes soonest.
CREATE TABLE inbox_keys (
    inbox_id INTEGER NOT NULL REFERENCES inbox(id),
    key INTEGER NOT NULL,
    PRIMARY KEY (inbox_id, key)
);
CREATE INDEX inbox_keys_key ON inbox_keys(key, inbox_id);
-- PostgreSQL: the session whose sender claimed a row (a claim ends with its session).
ALTER TABLE outbox ADD COLUMN claimed_by INTEGER;
-- What each ticket owes soonest (its earliest standing reply date), kept by triggers: the
-- dates an SE owes are one index walk (the capacity check, per message), not a probe per
-- open ticket of theirs.
ALTER TABLE tickets ADD COLUMN owed_at TEXT;
CREATE VIEW ticket_owed AS SELECT ticket_id, min(due_at) AS due FROM commitments
    WHERE met_at IS NULL AND missed_at IS NULL AND superseded_by IS NULL
    AND kind IN ('actionable', 'point') AND promised = 1 GROUP BY ticket_id;
UPDATE tickets SET owed_at = (SELECT due FROM ticket_owed WHERE ticket_id = tickets.id);
CREATE INDEX tickets_owed ON tickets(se, owed_at)
    WHERE state IN ('new', 'answered') AND owed_at IS NOT NULL;
CREATE TRIGGER owed_insert AFTER INSERT ON commitments BEGIN
    UPDATE tickets SET owed_at = (SELECT due FROM ticket_owed WHERE ticket_id = NEW.ticket_id)
        WHERE id = NEW.ticket_id;
END;
CREATE TRIGGER owed_update
    AFTER UPDATE OF ticket_id, kind, due_at, met_at, missed_at, superseded_by, promised
    ON commitments BEGIN
    UPDATE tickets SET owed_at = (SELECT due FROM ticket_owed WHERE ticket_id = tickets.id)
        WHERE id IN (OLD.ticket_id, NEW.ticket_id);
END;
CREATE TRIGGER owed_delete AFTER DELETE ON commitments BEGIN
    UPDATE tickets SET owed_at = (SELECT due FROM ticket_owed WHERE ticket_id = OLD.ticket_id)
        WHERE id = OLD.ticket_id;
END;
