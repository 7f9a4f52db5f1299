"""HTTP answers for failures every service shares, so that none of them becomes a bare 500.

- A request FastAPI rejects is answered 422 with FastAPI's usual body, made safe to encode
  first: the body echoes the offending input, and a lone surrogate (valid in JSON escapes,
  not in UTF-8) would otherwise fail the rendering of the answer itself.
- A value PostgreSQL cannot store or compare (a data exception, SQLSTATE class 22, e.g. a NUL
  character in a path parameter) is the request's fault: 422 naming the problem.
- PostgreSQL being unreachable or restarting is nobody's fault and passes: 503 with
  Retry-After, so clients retry instead of giving up on a 500.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

RETRY_AFTER_S = "1"
# How asyncpg fails while the server is down or restarting (connect refused: ConnectionError).
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    ConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)


def encodable(value: Any) -> Any:
    """`value` with every string that UTF-8 cannot encode written with backslash escapes."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {encodable(k): encodable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encodable(v) for v in value]
    return value


async def invalid_request(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return JSONResponse({"detail": encodable(jsonable_encoder(error.errors()))}, status_code=422)


async def unstorable_value(_: Request, error: Exception) -> JSONResponse:
    message = f"the request holds a value the database cannot take ({type(error).__name__}): "
    return JSONResponse({"detail": encodable(message + str(error))}, status_code=422)


async def database_unavailable(_: Request, error: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": f"the database is unavailable, retry shortly ({type(error).__name__})"},
        status_code=503,
        headers={"Retry-After": RETRY_AFTER_S},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(asyncpg.DataError, unstorable_value)
    for kind in DATABASE_UNAVAILABLE:
        app.add_exception_handler(kind, database_unavailable)
