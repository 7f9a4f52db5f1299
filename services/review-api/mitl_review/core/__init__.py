"""Review's pure core: who may claim what, lease rules, submission rules, label events.

Synchronous and free of I/O: functions take the task as loaded and the database's clock, and
either return a decision or raise a `StatusError` (a `ReviewError`, or the runtime's
`Forbidden`, `Unauthenticated`) that names the problem.
"""
