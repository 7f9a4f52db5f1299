"""Router's Postgres (schema `router`): drift alerts, decisions, verified outcomes, learned
thresholds and the near-duplicate window. One module per table."""
