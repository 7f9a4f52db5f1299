"""`mitl topics create`: create every topic and its dead-letter topic with partitions."""

from __future__ import annotations

import argparse
import asyncio

from mitl_runtime.localinfra import all_topics, create_topics
from mitl_runtime.settings import ServiceSettings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("topics", help="manage Kafka topics")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create all mitl topics (idempotent)")
    create.add_argument("--bootstrap", default=None, help="default: MITL_KAFKA_BOOTSTRAP_SERVERS")
    create.add_argument("--partitions", type=int, default=4)
    create.set_defaults(func=run_create)


def run_create(args: argparse.Namespace) -> int:
    bootstrap = args.bootstrap or ServiceSettings().kafka_bootstrap_servers
    names = all_topics()
    asyncio.run(create_topics(bootstrap, names, args.partitions))
    print(f"{len(names)} topics present on {bootstrap} ({args.partitions} partitions each)")
    return 0
