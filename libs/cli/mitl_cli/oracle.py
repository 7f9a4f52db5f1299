"""Simulated people for `mitl run --annotators N`: they label the streamed questions with their
true labels, at a person's pace, over the review API, so that the whole loop turns on one
machine: labels reach the trainer, it retrains, inference swaps to a better champion, and the
router accepts more.

Each annotator claims from the annotator queue, takes `seconds` over a task, and confirms the
suggestion when it is right, else corrects it with the true label (on a blind spot check it
gives the true label). One expert works the expert queue the same way. A task whose item it
does not know (an item someone posted by hand) it skips, back to the queue for the people
using the UI. The dataset's true labels come from the same pool the demo streams
(feed.pool_examples), keyed by the item ids ingest gives.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from mitl_contracts.ids import item_id_for

from mitl_cli.feed import pool_examples

IDLE_S = 1.0
BACKOFF_S = 2.0


def pool_truth(dataset: str) -> dict[str, str]:
    """item id -> true label of every item the demo streams for `dataset`."""
    return {
        item_id_for(dataset, str(item["external_id"])): label
        for item, label in pool_examples(dataset)
    }


def answer(task: dict[str, Any], truth: str, seconds: float) -> dict[str, Any]:
    """What a person who knows the answer submits: the suggestion when it is right (a
    multi-label or span task is not one the demo streams), else the true label."""
    body: dict[str, Any] = {"revision": task["revision"], "time_spent_ms": int(seconds * 1000)}
    suggestion = task.get("suggestion")
    if suggestion is not None and suggestion.get("label") == truth:
        return body | {"action": "confirm"}
    return body | {"action": "correct", "label": truth}


@dataclass
class Tally:
    """What the simulated people did; guarded by `lock` (one thread per person)."""

    labeled: int = 0
    confirmed: int = 0
    skipped: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, what: str) -> None:
        with self.lock:
            if what == "confirm":
                self.labeled += 1
                self.confirmed += 1
            elif what == "correct":
                self.labeled += 1
            elif what == "skip":
                self.skipped += 1
            else:
                self.errors[what] += 1


@dataclass
class Person:
    """One simulated annotator or expert, working in a thread of its own."""

    review_url: str
    dataset: str
    queue: str
    token: str
    truth: dict[str, str]
    seconds: float
    tally: Tally

    def run(self, stop: threading.Event) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.review_url, headers=headers, timeout=10) as client:
            while not stop.is_set():
                try:
                    self.one_task(client, stop)
                except httpx.HTTPError as error:  # the review API restarting: try again
                    self.tally.add(type(error).__name__)
                    stop.wait(BACKOFF_S)

    def one_task(self, client: httpx.Client, stop: threading.Event) -> None:
        claimed = client.post(f"/v1/queues/{self.dataset}/{self.queue}/claim")
        if claimed.status_code == 204:
            stop.wait(IDLE_S)
            return
        if claimed.status_code != 200:
            self.tally.add(f"claim {claimed.status_code}")
            stop.wait(BACKOFF_S)
            return
        task = claimed.json()
        submit = f"/v1/tasks/{task['task_id']}/submit"
        truth = self.truth.get(task["item_id"])
        if truth is None:
            client.post(submit, json={"action": "skip"})
            self.tally.add("skip")
            return
        if stop.wait(self.seconds):
            return  # stopping: the lease lapses and the task goes back to the queue
        body = answer(task, truth, self.seconds)
        done = client.post(submit, json=body)
        self.tally.add(body["action"] if done.status_code == 200 else f"submit {done.status_code}")


@dataclass
class Crew:
    """The simulated people of a run and their threads."""

    people: list[Person]
    tally: Tally
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        for person in self.people:
            threading.Thread(target=person.run, args=(self.stop,), daemon=True).start()

    def close(self) -> None:
        self.stop.set()


def crew(
    review_url: str, dataset: str, tokens: list[str], expert_token: str, seconds: float
) -> Crew:
    """Annotators with `tokens` and one expert, answering from `dataset`'s true labels."""
    truth = pool_truth(dataset)
    tally = Tally()
    people = [
        Person(review_url, dataset, "annotator", token, truth, seconds, tally) for token in tokens
    ]
    people.append(Person(review_url, dataset, "expert", expert_token, truth, seconds, tally))
    return Crew(people, tally)
