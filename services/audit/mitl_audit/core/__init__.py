"""The audit service's pure rules, no I/O: events to rows, the hash chain, report math, export
rows."""
