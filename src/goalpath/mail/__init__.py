"""Outgoing email: rendering messages and handing them to SMTP or a local outbox."""
