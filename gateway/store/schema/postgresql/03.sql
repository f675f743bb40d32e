-- SQLite's 15.
CREATE TABLE inbox_keys (
    inbox_id INTEGER NOT NULL REFERENCES inbox(id),
    key BIGINT NOT NULL,
    PRIMARY KEY (inbox_id, key)
);
CREATE INDEX inbox_keys_key ON inbox_keys(key, inbox_id);
-- PostgreSQL: the session whose sender claimed a row (a claim ends with its session).
ALTER TABLE outbox ADD COLUMN claimed_by INTEGER;
ALTER TABLE tickets ADD COLUMN owed_at TEXT COLLATE "C";
CREATE VIEW ticket_owed AS SELECT ticket_id, min(due_at) AS due FROM commitments
    WHERE met_at IS NULL AND missed_at IS NULL AND superseded_by IS NULL
    AND kind IN ('actionable', 'point') AND promised = 1 GROUP BY ticket_id;
UPDATE tickets SET owed_at = (SELECT due FROM ticket_owed WHERE ticket_id = tickets.id);
CREATE INDEX tickets_owed ON tickets(se, owed_at)
    WHERE state IN ('new', 'answered') AND owed_at IS NOT NULL;
CREATE FUNCTION owed_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE tickets
            SET owed_at = (SELECT due FROM ticket_owed WHERE ticket_id = OLD.ticket_id)
            WHERE id = OLD.ticket_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE tickets
            SET owed_at = (SELECT due FROM ticket_owed WHERE ticket_id = NEW.ticket_id)
            WHERE id = NEW.ticket_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER owed_insert AFTER INSERT OR DELETE ON commitments
    FOR EACH ROW EXECUTE FUNCTION owed_keep();
CREATE TRIGGER owed_update
    AFTER UPDATE OF ticket_id, kind, due_at, met_at, missed_at, superseded_by, promised
    ON commitments FOR EACH ROW EXECUTE FUNCTION owed_keep();
