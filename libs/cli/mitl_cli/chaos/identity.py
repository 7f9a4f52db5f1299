"""Making sure each port answers for the service it was given to, and each service still runs.

LocalStack picks free ports one service at a time, just before starting each: a port is only
taken once its service binds it, so two services can be handed the same one. The one that binds
second exits, and the other answers its readiness checks in its place. A service that
answers /healthz with another service's name is started again on a port that is really free.
"""

from __future__ import annotations

import contextlib
import socket

import httpx

from mitl_cli.stack import LocalStack, exit_message, service_of


class ServiceDied(RuntimeError):
    """A service process exited while the run needed it."""


def distinct_free_port(taken: set[int]) -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in taken:
            return port


def answers_as(stack: LocalStack, name: str) -> bool:
    with contextlib.suppress(httpx.HTTPError, ValueError):
        body = httpx.get(f"{stack.url(name)}/healthz", timeout=5).json()
        return body.get("service") == service_of(name)
    return False


def ensure_identities(stack: LocalStack) -> list[str]:
    """Restart, on fresh ports, the services (replicas) whose port answers for another service
    (or nothing); return their names."""
    moved = []
    for name in list(stack.processes):
        if answers_as(stack, name) and stack.processes[name].poll() is None:
            continue
        stack.kill(name)
        stack.ports[name] = distinct_free_port(set(stack.ports.values()))
        stack.spawn(name)
        stack.wait_ready((name,))
        moved.append(name)
    return moved


def check_alive(stack: LocalStack) -> None:
    """Raise ServiceDied naming any service process that has exited."""
    for name, process in stack.processes.items():
        if process.poll() is not None:
            log_path = stack.workdir / f"{name}.log"
            raise ServiceDied(exit_message(name, process.returncode, log_path))
