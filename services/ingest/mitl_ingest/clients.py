"""Ingest's clients, pure: the key's shape, what a client may write, and its rate limit.

A client is a service that posts items. Its key (`mitl clients create`) is shown once; ingest
keeps only its sha256. A key is scoped to datasets ('*': all of them), and each client has a
rate limit (a token bucket: `rate_per_s` requests a second on average, `burst` at once, per
ingest replica) and a body limit."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mitl_contracts.events import Name
from mitl_runtime.auth.errors import Forbidden, RateLimited, TooLarge, Unauthenticated
from mitl_runtime.auth.tokens import new_token
from pydantic import TypeAdapter, ValidationError

KEY_PREFIX = "mitlk_"
KEY_SHAPE = re.compile(r"^mitlk_[A-Za-z0-9_-]{43}$")
ALL_DATASETS = "*"
MALFORMED = (
    f"malformed client key: expected the key `mitl clients create` printed ({KEY_PREFIX}...)"
)
UNKNOWN = "the client key is not valid (unknown, revoked or rotated)"


NAMES: TypeAdapter[str] = TypeAdapter(Name)


def is_name(value: str) -> bool:
    """Whether `value` is a name as the contracts allow one (a client's id, a dataset)."""
    try:
        NAMES.validate_python(value)
    except ValidationError:
        return False
    return True


def new_key() -> str:
    return new_token(KEY_PREFIX)


def check_shape(key: str) -> None:
    """Unauthenticated unless `key` has the shape of a client key (a token meant for another
    service, a truncated paste)."""
    if not KEY_SHAPE.fullmatch(key):
        raise Unauthenticated(MALFORMED)


@dataclass(frozen=True)
class Client:
    client_id: str
    datasets: tuple[str, ...]
    rate_per_s: float
    burst: int
    max_body_bytes: int
    revoked: bool = False

    def may_write(self, dataset: str) -> bool:
        return ALL_DATASETS in self.datasets or dataset in self.datasets

    def check_dataset(self, dataset: str) -> None:
        if not self.may_write(dataset):
            raise Forbidden(
                f"client {self.client_id!r} may not write to dataset {dataset!r}; its key is "
                f"scoped to {', '.join(self.datasets)}"
            )

    def check_body(self, size: int) -> None:
        if size > self.max_body_bytes:
            raise TooLarge(
                f"the body is {size} bytes; client {self.client_id!r} may send at most "
                f"{self.max_body_bytes} a request"
            )


def scope(datasets: list[str], all_datasets: bool) -> tuple[str, ...]:
    """The datasets a new key may write, checked: ValueError naming the fault."""
    if all_datasets and datasets:
        raise ValueError("give --dataset or --all-datasets, not both")
    if all_datasets:
        return (ALL_DATASETS,)
    if not datasets:
        raise ValueError("a key needs a scope: --dataset NAME (repeatable) or --all-datasets")
    bad = [d for d in datasets if not is_name(d)]
    if bad:
        raise ValueError(f"not a dataset name: {', '.join(map(repr, bad))}")
    return tuple(sorted(set(datasets)))


@dataclass
class Bucket:
    tokens: float
    at: float


@dataclass
class RateLimiter:
    """Token buckets per client, in this process (each replica limits on its own)."""

    clock: Callable[[], float] = time.monotonic
    buckets: dict[str, Bucket] = field(default_factory=dict)

    def take(self, client: Client) -> None:
        """Spend one request of `client`'s bucket, or RateLimited with the wait."""
        now = self.clock()
        bucket = self.buckets.get(client.client_id)
        if bucket is None:
            bucket = self.buckets[client.client_id] = Bucket(float(client.burst), now)
        bucket.tokens = min(
            float(client.burst), bucket.tokens + (now - bucket.at) * client.rate_per_s
        )
        bucket.at = now
        if bucket.tokens < 1.0:
            wait = (1.0 - bucket.tokens) / client.rate_per_s
            raise RateLimited(
                f"client {client.client_id!r} is over its rate limit of {client.rate_per_s:g} "
                f"requests a second (burst {client.burst}); retry in {wait:.2f} s",
                wait,
            )
        bucket.tokens -= 1.0
