"""Pure rules of the event store: no I/O, no transport."""
