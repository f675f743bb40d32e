"""Ways mail comes in: IMAP (pull) and SMTP/LMTP (push). Both only store raw bytes."""
