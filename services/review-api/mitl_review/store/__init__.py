"""Review's Postgres (schema `review`): tasks and leases, users, the label outbox."""
