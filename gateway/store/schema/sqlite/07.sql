-- 7: a ticket's story (every mail in and out, for a hand-over), and #merge: a merged ticket
-- is resolved and names the ticket that carries on.
ALTER TABLE tickets ADD COLUMN merged_into INTEGER REFERENCES tickets(id);
CREATE INDEX inbox_ticket ON inbox(ticket_id, id) WHERE ticket_id IS NOT NULL;
CREATE INDEX outbox_ticket ON outbox(ticket_id, id) WHERE ticket_id IS NOT NULL;
