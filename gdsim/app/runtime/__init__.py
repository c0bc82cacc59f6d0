"""What steps the engine and when: the session, the engine worker process and the pacer."""
