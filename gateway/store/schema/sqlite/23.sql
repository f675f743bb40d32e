-- 23: the sender reads a page of due mail by walking the queued rows in id order (an index of
-- only them) and stops once the page is full. It read every queued row due, each with its
-- bytes, and sorted them all for each page of 50: a backlog of Q mails cost O(Q) rows a page.
CREATE INDEX outbox_queued ON outbox(id, next_attempt_at) WHERE state = 'queued';
