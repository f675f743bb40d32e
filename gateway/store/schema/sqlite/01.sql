CREATE TABLE inbox (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,               -- imap | smtp
    mailbox TEXT NOT NULL DEFAULT '',
    uidvalidity INTEGER NOT NULL DEFAULT 0,
    uid INTEGER NOT NULL DEFAULT 0,
    raw BLOB NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    received_at TEXT NOT NULL,          -- INTERNALDATE, or the ingress time
    stored_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'new',  -- new | processed | quarantined
    action TEXT,                        -- acknowledge | follow-up | engineer-reply | ...
    reason TEXT,
    message_id TEXT,
    ticket_id INTEGER REFERENCES tickets(id),
    processed_at TEXT,
    disposed INTEGER NOT NULL DEFAULT 0 -- the IMAP move/flag is done
);
CREATE UNIQUE INDEX inbox_uid ON inbox(mailbox, uidvalidity, uid) WHERE source = 'imap';
CREATE INDEX inbox_state ON inbox(state, id);
CREATE INDEX inbox_message_id ON inbox(message_id);

CREATE TABLE cursors (
    mailbox TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    last_uid INTEGER NOT NULL,
    PRIMARY KEY (mailbox, uidvalidity)
);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    question TEXT NOT NULL DEFAULT '', -- the start of the customer's first mail
    customer_address TEXT NOT NULL,
    customer_name TEXT NOT NULL,
    customer_utc_offset INTEGER,        -- minutes, from the customer's Date: header
    account TEXT NOT NULL DEFAULT '',
    product TEXT NOT NULL DEFAULT '',
    priority TEXT NOT NULL DEFAULT 'normal',
    token TEXT NOT NULL,                -- the secret part of the SE's relay address
    se TEXT NOT NULL,
    sc TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,                -- new | answered | waiting | resolved
    received_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    responded_at TEXT,
    resolved_at TEXT,
    last_contact_at TEXT,               -- last mail to the customer (from us or an SE)
    paused_at TEXT,                     -- waiting on the customer since (clocks paused)
    paused_from TEXT,                   -- the state to return to when the customer replies
    last_customer_message_id TEXT NOT NULL,
    references_ TEXT NOT NULL DEFAULT ''
);

CREATE TABLE message_ids (
    message_id TEXT PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    direction TEXT NOT NULL             -- in | out
);

CREATE TABLE commitments (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    kind TEXT NOT NULL,                 -- actionable | resolution | update | point
    point TEXT NOT NULL DEFAULT '',     -- for kind point: the customer's words
    due_at TEXT NOT NULL,
    told TEXT NOT NULL,                 -- the words we used
    made_at TEXT NOT NULL,
    made_by TEXT NOT NULL DEFAULT 'policy', -- policy | revision | pause | an engineer
    met_at TEXT,
    missed_at TEXT,
    revision_of INTEGER REFERENCES commitments(id),
    superseded_by INTEGER REFERENCES commitments(id)
);
CREATE INDEX commitments_open ON commitments(due_at)
    WHERE met_at IS NULL AND missed_at IS NULL AND superseded_by IS NULL;

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER REFERENCES tickets(id),
    kind TEXT NOT NULL,                 -- ack | se-copy | revised-eta | alert
    message_id TEXT NOT NULL,
    mail_from TEXT NOT NULL,
    rcpt TEXT NOT NULL,                 -- comma-separated envelope recipients
    raw BLOB NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued', -- queued | sent | dead
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);

CREATE TABLE undeliverable (
    address TEXT PRIMARY KEY,
    until TEXT NOT NULL,
    reason TEXT NOT NULL,
    ticket_id INTEGER REFERENCES tickets(id)
);

CREATE TABLE decisions (
    id INTEGER PRIMARY KEY,
    inbox_id INTEGER NOT NULL REFERENCES inbox(id),
    step TEXT NOT NULL,
    verdict TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX decisions_inbox ON decisions(inbox_id);
