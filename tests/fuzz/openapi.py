"""Fuzzing a running service through its own OpenAPI document with schemathesis: for every
operation, cases that fit the schema (positive) and cases that break it (negative), sent over
real HTTP. What counts as a failure: any 5xx, or a 4xx that does not say why (a JSON body with
a non-empty `detail`). Failures are collected rather than raised, so one run reports every
operation's problems (and Hypothesis does not spend the budget shrinking)."""

from __future__ import annotations

from dataclasses import dataclass

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.core.transport import Response
from schemathesis.generation import GenerationMode


@dataclass(frozen=True)
class Failure:
    operation: str
    status: int
    body: str
    request: str

    def __str__(self) -> str:
        return f"{self.operation} -> {self.status}: {self.body[:300]} (request: {self.request})"


def says_why(body: object) -> bool:
    if not isinstance(body, dict):
        return False
    detail = body.get("detail")
    return bool(detail) and (isinstance(detail, str | list))


def judge(operation: str, response: Response) -> Failure | None:
    status = response.status_code
    request = response.request
    described = f"{request.method} {request.url} body={str(request.body)[:200]}"
    if status >= 500:
        return Failure(operation, status, response.text_lossy(), described)
    if 400 <= status < 500:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not says_why(body):
            return Failure(operation, status, response.text_lossy(), described)
    return None


def attack(
    operation: schemathesis.APIOperation,
    base_url: str,
    headers: dict[str, str] | None,
    max_examples: int,
) -> list[Failure]:
    """Up to `max_examples` cases against one operation; the first three failures."""
    label = f"{operation.method.upper()} {operation.path}"
    found: list[Failure] = []
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=max_examples,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(case=strategy)
    def send(case: schemathesis.Case) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        if (failure := judge(label, response)) is not None and len(found) < 3:
            found.append(failure)

    send()
    return found


def fuzz(
    base_url: str,
    *,
    headers: dict[str, str] | None = None,
    max_examples: int = 50,
) -> tuple[list[str], list[Failure]]:
    """Fuzz every operation of the service at `base_url`; return the operations exercised and
    the failures found (at most three per operation)."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    exercised: list[str] = []
    failures: list[Failure] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        exercised.append(f"{operation.method.upper()} {operation.path}")
        failures += attack(operation, base_url, headers, max_examples)
    return exercised, failures
