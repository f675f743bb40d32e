-- 12: the web view. A ticket's newest activity (a mail in or out) is kept by triggers, so
-- the ticket list pages by it; passwords (argon2 hashes) and the cookie-signing key live
-- here, not in the config; every action taken in the browser is recorded with who took it.
ALTER TABLE tickets ADD COLUMN active_at TEXT NOT NULL DEFAULT '';
UPDATE tickets SET active_at = max(
    received_at,
    coalesce((SELECT max(received_at) FROM inbox WHERE ticket_id = tickets.id), ''),
    coalesce((SELECT max(created_at) FROM outbox WHERE ticket_id = tickets.id), ''));
CREATE INDEX tickets_active ON tickets(active_at);
CREATE TRIGGER tickets_active_new AFTER INSERT ON tickets BEGIN
    UPDATE tickets SET active_at = NEW.received_at WHERE id = NEW.id AND active_at = '';
END;
CREATE TRIGGER tickets_active_in AFTER UPDATE OF ticket_id ON inbox
    WHEN NEW.ticket_id IS NOT NULL BEGIN
    UPDATE tickets SET active_at = NEW.received_at
        WHERE id = NEW.ticket_id AND active_at < NEW.received_at;
END;
CREATE TRIGGER tickets_active_out AFTER INSERT ON outbox
    WHEN NEW.ticket_id IS NOT NULL BEGIN
    UPDATE tickets SET active_at = NEW.created_at
        WHERE id = NEW.ticket_id AND active_at < NEW.created_at;
END;
CREATE INDEX tickets_account ON tickets(account, active_at);
CREATE INDEX tickets_received ON tickets(received_at);
CREATE INDEX tickets_merged ON tickets(merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX tickets_sc ON tickets(sc, active_at);
-- Search by any part of the subject or the customer's address (trigrams: substrings of
-- three characters or more, case-insensitive), without reading every ticket.
CREATE VIRTUAL TABLE tickets_search USING fts5(
    subject, customer_address, content='tickets', content_rowid='id', tokenize='trigram');
INSERT INTO tickets_search (rowid, subject, customer_address)
    SELECT id, subject, customer_address FROM tickets;
CREATE TRIGGER tickets_search_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO tickets_search (rowid, subject, customer_address)
        VALUES (NEW.id, NEW.subject, NEW.customer_address);
END;
CREATE TRIGGER tickets_search_update AFTER UPDATE OF subject, customer_address ON tickets
BEGIN
    INSERT INTO tickets_search (tickets_search, rowid, subject, customer_address)
        VALUES ('delete', OLD.id, OLD.subject, OLD.customer_address);
    INSERT INTO tickets_search (rowid, subject, customer_address)
        VALUES (NEW.id, NEW.subject, NEW.customer_address);
END;
CREATE TRIGGER tickets_search_delete AFTER DELETE ON tickets BEGIN
    INSERT INTO tickets_search (tickets_search, rowid, subject, customer_address)
        VALUES ('delete', OLD.id, OLD.subject, OLD.customer_address);
END;
CREATE TABLE web_users (
    address TEXT PRIMARY KEY,           -- lower-case, a configured person
    hash TEXT NOT NULL,                 -- argon2id
    set_at TEXT NOT NULL
);
CREATE TABLE web_keys (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE web_actions (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL
);
