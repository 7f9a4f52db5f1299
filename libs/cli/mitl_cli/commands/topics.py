"""`mitl topics apply`: make the cluster's topics match their declaration
(mitl_contracts.topic_specs): create what is missing, raise partitions, set
min.insync.replicas, retention.ms and cleanup.policy; refuse, and exit 1, where a topic has
more partitions or another replication factor than declared. `mitl topics create` is the
same command under its former name."""

from __future__ import annotations

import argparse
import asyncio
import json

from mitl_contracts import topic_specs
from mitl_runtime.settings import ServiceSettings
from mitl_runtime.topic_admin import apply

from mitl_cli.commands import positive


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("topics", help="manage Kafka topics")
    actions = parser.add_subparsers(dest="action", required=True)
    cmd = actions.add_parser(
        "apply",
        aliases=["create"],
        help="make every mitl topic and dead-letter topic match its declaration (idempotent)",
        description=(
            "Create missing topics, raise partition counts and align min.insync.replicas, "
            "retention.ms and cleanup.policy with mitl_contracts.topic_specs. Refuses (exit 1) "
            "a topic with more partitions or another replication factor than declared."
        ),
    )
    cmd.add_argument("--bootstrap", default=None, help="default: MITL_KAFKA_BOOTSTRAP_SERVERS")
    cmd.add_argument(
        "--brokers",
        type=positive,
        default=None,
        help="scale the declaration to a cluster of this many brokers: replication capped to "
        "it, min.insync.replicas to replication - 1 (at least 1). Default: as declared "
        f"(replication {topic_specs.REPLICATION_FACTOR}, min.insync.replicas "
        f"{topic_specs.MIN_INSYNC})",
    )
    cmd.add_argument(
        "--partitions",
        type=positive,
        default=None,
        help="partitions of the item-path topics (the environment's ceiling of consumer "
        f"replicas). Default: {topic_specs.ITEM_PARTITIONS}",
    )
    cmd.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    cmd.add_argument("--json", action="store_true", help="print the report as JSON")
    cmd.set_defaults(func=run_apply)


def declared(brokers: int | None, partitions: int | None) -> tuple[topic_specs.TopicSpec, ...]:
    specs = topic_specs.SPECS
    if partitions is not None:
        specs = topic_specs.with_item_partitions(partitions, specs)
    if brokers is not None:
        specs = topic_specs.for_cluster(brokers, specs)
    return specs


def run_apply(args: argparse.Namespace) -> int:
    settings = ServiceSettings()
    if args.bootstrap:
        settings = settings.model_copy(update={"kafka_bootstrap_servers": args.bootstrap})
    specs = declared(args.brokers, args.partitions)
    report = asyncio.run(apply(settings, specs, dry_run=args.dry_run))
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print("\n".join(report.lines()))
    return 0 if report.ok else 1
