"""The two requests a person makes per item, claim and submit, answered in one ASGI layer.

Through FastAPI, a claim or a submission spent more CPU in the framework (five middlewares,
route matching over every route, dependency solving, body and response plumbing) than in the
service's own work. This layer sits right inside the app's error middleware and answers the
ordinary case directly with the same functions and the same answers as the routes
(routes/queues.py, routes/tasks.py): an exact claim or submit path, a bearer token of a
known user (from the token cache, or looked up as the routes look it up, which caches it),
and for a submission a small JSON body that is a valid `Submission`.

Anything else goes on to FastAPI unchanged (the body, if read, is handed on as it came), which
answers it as before: tokens the lookup refuses, missing credentials, a dataset not in the
catalog, bodies FastAPI rejects. Errors of the work itself are answered by
the app's own exception handlers. The routes stay where they are, and with them the OpenAPI
document.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, cast

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from mitl_contracts.events import Queue
from mitl_runtime.status_error import StatusError
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mitl_review import submissions
from mitl_review.context import Context
from mitl_review.core.auth import User, hash_token
from mitl_review.core.submission import Submission
from mitl_review.routes.deps import current_user
from mitl_review.routes.queues import claim_view

CLAIM = re.compile(r"/v1/queues/([^/]+)/(annotator|expert)/claim")
SUBMIT = re.compile(r"/v1/tasks/([^/]+)/submit")
# A submission body is a few dozen bytes; anything larger (or of unknown length) goes to
# FastAPI, which applies its own limits.
MAX_BODY_BYTES = 16 * 1024
Handler = Callable[[Request, Any], Response | Awaitable[Response]]


class HotPaths:
    """ASGI middleware in front of `app`; `fastapi_app`'s exception handlers answer errors."""

    def __init__(self, app: ASGIApp, context: Context, fastapi_app: FastAPI) -> None:
        self.app = app
        self.context = context
        self.fastapi_app = fastapi_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if (match := CLAIM.fullmatch(path)) is not None:
            await self.claim(scope, receive, send, match[1], match[2])
        elif (match := SUBMIT.fullmatch(path)) is not None:
            await self.submit(scope, receive, send, match[1])
        else:
            await self.app(scope, receive, send)

    def user(self, scope: Scope) -> User | None:
        """The caller, if their token is in the cache (as `routes.deps.current_user` reads it)."""
        token = bearer_token(scope)
        return None if token is None else self.context.tokens.get(hash_token(token))

    async def caller(self, scope: Scope) -> User | None:
        """The caller: from the token cache, else as `routes.deps.current_user` finds them (a
        token the cache forgot after its `auth_cache_seconds` is looked up here, not in the
        whole framework); None if there is no bearer token or the lookup refuses or fails it,
        which FastAPI then answers."""
        if (user := self.user(scope)) is not None:
            return user
        token = bearer_token(scope)
        if token is None:
            return None
        try:
            credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)
            return await current_user(self.context, credentials)
        except Exception:  # answered by FastAPI, which looks the token up again
            return None

    async def claim(
        self, scope: Scope, receive: Receive, send: Send, dataset: str, queue: str
    ) -> None:
        user = await self.caller(scope)
        if user is None or dataset not in self.context.catalog.datasets:
            await self.app(scope, receive, send)
            return
        try:
            # CLAIM admits only the two queues.
            view = await claim_view(self.context, user, dataset, cast(Queue, queue))
        except Exception as error:
            await self.failed(scope, receive, send, error)
            return
        if view is None:
            response = Response(status_code=204)
        else:
            response = Response(view.model_dump_json(), media_type="application/json")
        await response(scope, receive, send)

    async def submit(self, scope: Scope, receive: Receive, send: Send, task_id: str) -> None:
        user = await self.caller(scope)
        length = content_length(scope)
        if user is None or length is None or not 0 < length <= MAX_BODY_BYTES:
            await self.app(scope, receive, send)
            return
        if not json_content(scope):
            await self.app(scope, receive, send)
            return
        messages, body = await read_body(receive)
        body_submission = parse_submission(body)
        if body_submission is None:
            await self.app(scope, replay(messages, receive), send)
            return
        ctx = self.context
        try:
            result = await submissions.submit(
                ctx.pool, ctx.relay, user, task_id, body_submission, ctx.clock, ctx.claimed
            )
        except Exception as error:
            await self.failed(scope, receive, send, error)
            return
        await Response(result.model_dump_json(), media_type="application/json")(
            scope, receive, send
        )

    async def failed(self, scope: Scope, receive: Receive, send: Send, error: Exception) -> None:
        """Answer `error` as the app would: its exception handler for the error's class, or
        up to the error middleware (500)."""
        if isinstance(error, StatusError):
            response: Response = JSONResponse({"detail": error.message}, status_code=error.status)
        else:
            handler = self.handler_for(error)
            if handler is None:
                raise error
            answer = handler(Request(scope, receive), error)
            response = await answer if inspect.isawaitable(answer) else answer
        await response(scope, receive, send)

    def handler_for(self, error: Exception) -> Handler | None:
        handlers: dict[Any, Handler] = self.fastapi_app.exception_handlers
        for kind in type(error).__mro__:
            if kind in handlers:
                return handlers[kind]
        return None


def bearer_token(scope: Scope) -> str | None:
    """The credentials of an `Authorization: Bearer` header, as FastAPI's HTTPBearer reads them."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            credentials = credentials.strip()
            if scheme.lower() != "bearer" or not credentials:
                return None
            return credentials
    return None


def content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def json_content(scope: Scope) -> bool:
    """Whether the body is declared JSON the way FastAPI reads it (`application/json`)."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.partition(b";")[0].strip().lower() == b"application/json"
    return False


async def read_body(receive: Receive) -> tuple[list[Message], bytes]:
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return messages, b"".join(chunks)


def replay(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that hands on the messages already read, then the rest."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def parse_submission(body: bytes) -> Submission | None:
    """The body as FastAPI reads it (`json.loads`, then the model); None if it would not be
    accepted, so that FastAPI answers it with its own error."""
    try:
        return Submission.model_validate(json.loads(body))
    except (ValueError, ValidationError, RecursionError):
        return None
