"""Simulated annotators and experts working both queues over the review API's HTTP interface.

An annotator claims from the annotator queue and confirms the model's suggestion; on a blind
task (a spot check: the suggestion is hidden) it picks a label; a small share it escalates to
the expert queue. An expert claims from the expert queue and resolves with the suggestion.
Like a person whose browser lost the connection, a bot repeats a submission it got no answer
to (a repeat is answered the same and publishes nothing new) and claims again after a
conflict; while the review API or PostgreSQL is down it backs off and retries.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from mitl_cli.chaos.workload import DATASET, share

ESCALATE_SHARE = 0.03
IDLE_S = 0.25
MAX_BACKOFF_S = 2.0


@dataclass
class BotStats:
    claims: int = 0
    submitted: int = 0
    escalated: int = 0
    conflicts: int = 0
    errors: Counter[str] = field(default_factory=Counter)


def answer(task: dict[str, Any], role: str) -> dict[str, Any]:
    """What a bot submits for `task`."""
    body: dict[str, Any] = {"revision": task["revision"], "time_spent_ms": 1200}
    if role == "annotator" and share(task["item_id"], "escalate") < ESCALATE_SHARE:
        return body | {"action": "escalate", "comment": "chaos bot: not sure"}
    if task["suggestion"] is None:
        labels = task["labels"]
        pick = labels[int(share(task["item_id"], "blind") * len(labels))]
        return body | {"action": "correct", "label": pick}
    return body | {"action": "confirm"}


class Bot:
    def __init__(self, name: str, role: str, token: str) -> None:
        self.name = name
        self.role = role
        self.queue = "expert" if role == "expert" else "annotator"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.stats = BotStats()

    async def post(
        self, client: httpx.AsyncClient, what: str, path: str, body: object = None
    ) -> tuple[httpx.Response | None, str]:
        """The answer (None if there was none) and how to count it if it is a failure."""
        try:
            response = await client.post(path, json=body, headers=self.headers)
        except httpx.HTTPError as error:
            return None, type(error).__name__
        return response, f"{what} {response.status_code}"

    async def run(self, client: httpx.AsyncClient, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            claim = f"/v1/queues/{DATASET}/{self.queue}/claim"
            response, kind = await self.post(client, "claim", claim)
            if response is not None and response.status_code == 204:
                failures = 0
                await asyncio.sleep(IDLE_S)
                continue
            if response is None or response.status_code != 200:
                failures += 1
                self.stats.errors[kind] += 1
                await asyncio.sleep(min(MAX_BACKOFF_S, 0.05 * 2**failures))
                continue
            failures = 0
            self.stats.claims += 1
            await self.submit(client, response.json(), stop)

    async def submit(
        self, client: httpx.AsyncClient, task: dict[str, Any], stop: asyncio.Event
    ) -> None:
        body = answer(task, self.role)
        attempt = 0
        while not stop.is_set():
            submit = f"/v1/tasks/{task['task_id']}/submit"
            response, kind = await self.post(client, "submit", submit, body)
            if response is not None and response.status_code == 200:
                self.stats.submitted += 1
                self.stats.escalated += body["action"] == "escalate"
                return
            if response is not None and response.status_code == 409:
                self.stats.conflicts += 1
                return
            self.stats.errors[kind] += 1
            if response is not None and response.status_code < 500:
                return
            attempt += 1
            await asyncio.sleep(min(MAX_BACKOFF_S, 0.05 * 2**attempt))


@dataclass
class Reviewers:
    """The bots of a run; users are created in the review schema like `mitl users create`."""

    bots: list[Bot]
    tokens: list[str]
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _client: httpx.AsyncClient | None = None

    @classmethod
    async def create(cls, database_url: str, annotators: int, experts: int) -> Reviewers:
        from mitl_cli.surfaces import create_user

        tag = uuid.uuid4().hex[:6]
        bots = []
        for role, count in (("annotator", annotators), ("expert", experts)):
            for n in range(count):
                name = f"chaos-{role}-{tag}-{n}"
                bots.append(Bot(name, role, await create_user(database_url, name, role)))
        return cls(bots, [bot.headers["Authorization"].split()[1] for bot in bots])

    def start(self, review_url: str) -> None:
        self._stop = asyncio.Event()
        self._client = httpx.AsyncClient(base_url=review_url, timeout=30)
        self._tasks = [asyncio.create_task(bot.run(self._client, self._stop)) for bot in self.bots]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def totals(self, since: dict[str, int] | None = None) -> dict[str, int]:
        """What all bots did (since an earlier `totals()`, if given): submissions, escalations,
        conflicts, and failed requests by kind (`error:<kind>`)."""
        counts: Counter[str] = Counter()
        for bot in self.bots:
            counts["submitted"] += bot.stats.submitted
            counts["escalated"] += bot.stats.escalated
            counts["conflicts"] += bot.stats.conflicts
            counts.update({f"error:{kind}": n for kind, n in bot.stats.errors.items()})
        counts.subtract(since or {})
        return {key: n for key, n in sorted(counts.items()) if n}
