-- 14: a ticket's earliest open date is one index probe (what an SE owes, per message), not
-- a walk of every open date in due order until one of that ticket's turns up.
CREATE INDEX commitments_open_ticket ON commitments(ticket_id, due_at)
    WHERE met_at IS NULL AND missed_at IS NULL AND superseded_by IS NULL;
