"""Ways mail comes in: IMAP (pull) and SMTP/LMTP (push). Both only store raw bytes, with the
conversation keys read from the headers before the write transaction."""
