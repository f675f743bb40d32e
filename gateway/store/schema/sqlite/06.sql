-- 6: a ticket keeps its people: the requester and the customer-side addresses of their
-- mails, all in CC of every customer-facing mail.
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
