"""Every side effect of a case: database records, the notifications outbox, directory look-ups."""
