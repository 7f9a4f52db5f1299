"""The event a service records when it changes who may do what (a client key, a user), for
the audit chain: every such change, in any service, has this one shape."""

from __future__ import annotations

from typing import Any

from mitl_contracts.events import ACCESS_DATASET, AccessChanged

from mitl_runtime.auth.actor import local


def access_changed(
    service: str, action: str, actor: str | None, subject: str, **changes: Any
) -> AccessChanged:
    """`service` did `action` to `subject` (a client id, a user id); `changes` are the fields
    it set, never a secret nor its hash. `actor` None: whoever runs this process
    (`cli:<os user>`)."""
    return AccessChanged(
        dataset=ACCESS_DATASET,
        service=service,
        action=action,
        actor=actor or local(),
        subject=subject,
        changes=changes,
    )
