"""SQLite's schema, as migrations: each release that changes the schema appends one script, and a
database is brought up to date by running the scripts after its ``user_version``. PostgreSQL's
schema (gateway/store/postgres.py) must end the same: tests/test_schema_parity.py compares the
two, table by table, column by column, index, trigger and view."""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    """
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
    """,
    # 2: nothing done per message may scan history (every query below used to read whole tables:
    # the per-address caps the outbox, the least-loaded rule the tickets, disposal the inbox).
    """
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
    """,
    # 3: mail text in tables of its own. SQLite writes a whole record again on any UPDATE, so
    # marking a message processed or moved, or a mail sent, wrote its full text to the journal
    # once more (a 25 MB message twice); the rows that change now stay small.
    """
    CREATE TABLE inbox_raw (
        inbox_id INTEGER PRIMARY KEY REFERENCES inbox(id),
        raw BLOB NOT NULL
    );
    INSERT INTO inbox_raw (inbox_id, raw) SELECT id, raw FROM inbox;
    ALTER TABLE inbox DROP COLUMN raw;
    CREATE TABLE outbox_raw (
        outbox_id INTEGER PRIMARY KEY REFERENCES outbox(id),
        raw BLOB NOT NULL
    );
    INSERT INTO outbox_raw (outbox_id, raw) SELECT id, raw FROM outbox;
    ALTER TABLE outbox DROP COLUMN raw;
    """,
    # 4: our own faults never quarantine a message on its first try (it is held and retried),
    # a failing ticket is shunted instead of stopping the scheduler, and status updates come
    # from an indexed due time instead of a scan of every open ticket.
    """
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
    """,
    # 5: mail an upstream filter called spam is kept in state 'spam'; an operator who releases
    # it overrules that verdict for this message. A customer's mail given up on (dead) is told
    # to the SE and SC once.
    """
    ALTER TABLE inbox ADD COLUMN spam_released INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN alerted INTEGER NOT NULL DEFAULT 0;
    UPDATE outbox SET alerted = 1 WHERE state = 'dead';  -- no alerts about the past
    CREATE INDEX outbox_dead_unalerted ON outbox(id) WHERE state = 'dead' AND alerted = 0;
    """,
    # 6: a ticket keeps its people: the requester and the customer-side addresses of their
    # mails, all in CC of every customer-facing mail.
    """
    CREATE TABLE participants (
        ticket_id INTEGER NOT NULL REFERENCES tickets(id),
        address TEXT NOT NULL,          -- as written: a local part keeps its case
        address_key TEXT NOT NULL,      -- lower-case, for matching
        name TEXT NOT NULL DEFAULT '',
        added_by TEXT NOT NULL,         -- mail, or the SE who wrote #cc add
        added_at TEXT NOT NULL,
        PRIMARY KEY (ticket_id, address_key)
    );
    INSERT INTO participants (ticket_id, address, address_key, name, added_by, added_at)
        SELECT id, customer_address, lower(customer_address), customer_name, 'mail', created_at
        FROM tickets;
    """,
    # 7: a ticket's story (every mail in and out, for a hand-over), and #merge: a merged ticket
    # is resolved and names the ticket that carries on.
    """
    ALTER TABLE tickets ADD COLUMN merged_into INTEGER REFERENCES tickets(id);
    CREATE INDEX inbox_ticket ON inbox(ticket_id, id) WHERE ticket_id IS NOT NULL;
    CREATE INDEX outbox_ticket ON outbox(ticket_id, id) WHERE ticket_id IS NOT NULL;
    """,
    # 8: a resolution date is promised to the customer only when an engineer set it; the
    # policy's resolution date is a target (internal: alerts, never a revised date to the
    # customer). Every resolution row from before came from the policy ("we aim to resolve").
    """
    ALTER TABLE commitments ADD COLUMN promised INTEGER NOT NULL DEFAULT 1;
    UPDATE commitments SET promised = 0 WHERE kind = 'resolution';
    """,
    # 9: before promising a reply date the gateway reads what the SE already owes (their open
    # tickets' dates) and their recent record, per message: neither may scan their history.
    """
    CREATE INDEX tickets_se_open ON tickets(se) WHERE state IN ('new', 'answered');
    CREATE INDEX commitments_met ON commitments(met_at) WHERE met_at IS NOT NULL;
    """,
    # 10: leave set by mail (#away), beside the config's people[].away.
    """
    CREATE TABLE leave (
        address TEXT NOT NULL,              -- lower-case
        first_day TEXT NOT NULL,            -- ISO dates, inclusive, the team's calendar
        last_day TEXT NOT NULL,
        set_by TEXT NOT NULL,
        set_at TEXT NOT NULL
    );
    CREATE INDEX leave_last_day ON leave(last_day);
    """,
    # 11: the language the customer's mail is written in, decided when the ticket opens.
    """
    ALTER TABLE tickets ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
    """,
    # 12: the web view. A ticket's newest activity (a mail in or out) is kept by triggers, so
    # the ticket list pages by it; passwords (argon2 hashes) and the cookie-signing key live
    # here, not in the config; every action taken in the browser is recorded with who took it.
    """
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
    """,
    # 13: the data's whole life: a ticket's mail and personal data forgotten after the
    # retention time (or on erasure) while its dates and figures stay; held mail deleted after
    # its own time.
    """
    ALTER TABLE tickets ADD COLUMN forgotten_at TEXT;
    CREATE INDEX tickets_to_forget ON tickets(resolved_at)
        WHERE state = 'resolved' AND forgotten_at IS NULL;
    CREATE INDEX inbox_held_stored ON inbox(stored_at) WHERE state IN ('quarantined', 'spam');
    -- A session carries its person's generation: signing out or a new password counts it up,
    -- which ends every session signed in before (copies of the cookie too).
    ALTER TABLE web_users ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
    """,
    # 14: a ticket's earliest open date is one index probe (what an SE owes, per message), not
    # a walk of every open date in due order until one of that ticket's turns up.
    """
    CREATE INDEX commitments_open_ticket ON commitments(ticket_id, due_at)
        WHERE met_at IS NULL AND missed_at IS NULL AND superseded_by IS NULL;
    """,
    # 15: the conversation keys of mail not yet processed (gateway/mail/conversation.py): with
    # several gateways, a message waits while an earlier one that shares a key is not done;
    # who claimed an outbox row (several gateways send); what each ticket owes soonest.
    """
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
    """,
    # 16: a ticket whose customer is unhappy with us keeps the sentence that shows it (at risk).
    """
    ALTER TABLE tickets ADD COLUMN at_risk TEXT NOT NULL DEFAULT '';
    """,
    # 17: wrong passwords, kept (a restart forgets no lockout), per address and per client.
    """
    CREATE TABLE web_failures (
        address TEXT NOT NULL,              -- as typed, lower-case
        client TEXT NOT NULL,               -- the peer, or what a trusted proxy saw
        at TEXT NOT NULL
    );
    CREATE INDEX web_failures_address ON web_failures(address, at);
    CREATE INDEX web_failures_client ON web_failures(client, address, at);
    CREATE INDEX web_failures_at ON web_failures(at);
    """,
    # 18: a deadline the customer stated (the end of that day's hours), with their sentence;
    """
    ALTER TABLE tickets ADD COLUMN deadline_at TEXT;
    ALTER TABLE tickets ADD COLUMN deadline_said TEXT NOT NULL DEFAULT '';
    -- and when the SE was warned that a date of theirs is about to pass unmet
    ALTER TABLE commitments ADD COLUMN warned_at TEXT;
    """,
    # 19: people an unauthenticated mail copied wait for an SE's #cc add before mail reaches them.
    """
    ALTER TABLE participants ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
    """,
)
