"""AccessChanged (mitl.access.v1): what a credential or role change carries, and never a
secret."""

from __future__ import annotations

import pytest
from mitl_contracts.events import ACCESS_DATASET, AccessChanged
from pydantic import ValidationError


def change(**overrides: object) -> AccessChanged:
    fields: dict[str, object] = {
        "dataset": ACCESS_DATASET,
        "service": "ingest",
        "action": "client.scope",
        "actor": "cli:ops",
        "subject": "crm-sync",
        "changes": {"datasets": ["trec6"], "was": ["sms"]},
    }
    return AccessChanged.model_validate(fields | overrides)


def test_a_change_round_trips() -> None:
    event = change()
    assert AccessChanged.model_validate_json(event.model_dump_json()) == event


@pytest.mark.parametrize("field", ["token", "key_sha256", "new_key", "secret", "token_hash"])
def test_a_secret_field_is_refused(field: str) -> None:
    with pytest.raises(ValidationError, match="never carries a secret"):
        change(changes={field: "x"})


@pytest.mark.parametrize(
    "overrides",
    [{"action": "DROP TABLE"}, {"service": "router"}, {"actor": ""}, {"subject": "x" * 301}],
)
def test_malformed_changes_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        change(**overrides)
