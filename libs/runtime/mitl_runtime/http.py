"""The HTTP face every service has: `/healthz`, `/readyz`, `/metrics`, and `/asyncapi.json`
(the AsyncAPI document of the topics the service publishes and consumes)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from mitl_contracts import asyncapi, topology
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from mitl_runtime import http_errors
from mitl_runtime.tracing import Tracing

ReadinessCheck = Callable[[], Awaitable[None]]


class Health:
    """Liveness is "not fatally broken"; readiness is "every dependency answers now"."""

    def __init__(self) -> None:
        self.checks: dict[str, ReadinessCheck] = {}
        self.fatal: str | None = None
        self.started = False

    def add_check(self, name: str, check: ReadinessCheck) -> None:
        self.checks[name] = check

    def fail(self, error: BaseException) -> None:
        self.fatal = f"{type(error).__name__}: {error}"

    async def readiness(self) -> dict[str, str]:
        results: dict[str, str] = {}
        for name, check in self.checks.items():
            try:
                await check()
                results[name] = "ok"
            except Exception as error:  # any failure means not ready; say which and why
                results[name] = f"{type(error).__name__}: {error}"
        return results


def service_app(
    name: str,
    health: Health,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]]
    | Callable[[FastAPI], AsyncIterator[None]],
    tracing: Tracing | None = None,
    **fastapi_kwargs: object,
) -> FastAPI:
    app = FastAPI(title=f"mitl {name}", lifespan=lifespan, **fastapi_kwargs)  # type: ignore[arg-type]
    http_errors.install(app)
    if tracing is not None and tracing.enabled:
        traced = tracing

        @app.middleware("http")
        async def trace_requests(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            parent = request.headers.get("traceparent")
            with traced.serving(request.method, request.url.path, parent) as span:
                response = await call_next(request)
                if span is not None:
                    route = request.scope.get("route")
                    template = getattr(route, "path", None)
                    if template:
                        span.update_name(f"{request.method} {template}")
                        span.set_attribute("http.route", template)
                    span.set_attribute("http.response.status_code", response.status_code)
                return response

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> JSONResponse:
        if health.fatal:
            return JSONResponse({"status": "failed", "error": health.fatal}, status_code=500)
        return JSONResponse({"status": "ok", "service": name})

    @app.get("/readyz", tags=["ops"])
    async def readyz() -> JSONResponse:
        checks = await health.readiness() if health.started else {"startup": "not started"}
        ready = health.started and not health.fatal and all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    @app.get("/metrics", tags=["ops"])
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    if name in topology.SERVICES:
        spec = asyncapi.document(name)

        @app.get("/asyncapi.json", tags=["ops"])
        async def asyncapi_document() -> JSONResponse:
            """The AsyncAPI 3.0 document of the topics this service publishes and consumes."""
            return JSONResponse(spec)

    return app
