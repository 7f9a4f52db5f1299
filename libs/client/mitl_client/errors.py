"""What the client raises: the service's answer, or the retries running out."""

from __future__ import annotations


class ApiError(Exception):
    """A service answered with an error status; `detail` is its message (FastAPI's `detail`)."""

    def __init__(self, method: str, url: str, status: int, detail: str) -> None:
        super().__init__(f"{method} {url}: {status} {detail}")
        self.method = method
        self.url = url
        self.status = status
        self.detail = detail


class RetriesExhausted(Exception):
    """A request kept failing with a retryable status or a transport error."""

    def __init__(self, method: str, url: str, attempts: int, last: str) -> None:
        super().__init__(f"{method} {url}: gave up after {attempts} attempts; last: {last}")
        self.method = method
        self.url = url
        self.attempts = attempts
        self.last = last
