"""`mitl dlq`: what the dead-letter topics hold and why, and a replay of what can now succeed.

- `mitl dlq list`: every dead-letter topic, how many records it holds, and its newest reason.
- `mitl dlq show TOPIC`: the newest records of one (the source topic's name or the `.dlq`
  one): when, which service and consumer group refused it, the reason, and the message.
- `mitl dlq replay TOPIC`: publish them to their source topic again, each to the consumer
  group that refused it only (mitl_runtime.replay), from where the last replay stopped; for
  after the cause is fixed (a dataset declared, a label added, a service upgraded).

The filters (`--kind`, `--service`, `--group`, `--reason`) pick records for `show` and
`replay`. Exit 1 when a topic is not a mitl topic (the message lists them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from mitl_runtime.replay import DeadLetter
from mitl_runtime.settings import ServiceSettings

from mitl_cli import dead_letters
from mitl_cli.commands import positive

VALUE_CHARS = 200


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "dlq", help="read the dead-letter topics and replay what can now succeed"
    )
    actions = parser.add_subparsers(dest="action", required=True)

    listed = actions.add_parser("list", help="records held by each dead-letter topic")
    _common(listed)
    listed.set_defaults(func=run_list)

    show = actions.add_parser("show", help="the newest records of one dead-letter topic")
    _common(show)
    show.add_argument("topic", help="a topic (mitl.items.raw.v1) or its .dlq topic")
    show.add_argument("--limit", type=positive, default=20, help="newest records (default 20)")
    _filters(show)
    show.set_defaults(func=run_show)

    replay = actions.add_parser(
        "replay",
        help="publish dead letters to their source topic again, for the group that refused each",
        description=(
            "Publishes each dead letter's message, as it was, to its source topic, addressed "
            "to the consumer group that refused it: the topic's other groups, which handled "
            "it, skip it. Resumes where the last replay of the topic stopped."
        ),
    )
    _common(replay)
    replay.add_argument("topic", help="a topic (mitl.items.raw.v1) or its .dlq topic")
    _filters(replay)
    replay.add_argument(
        "--to-group",
        default=None,
        help="address every replayed message to this consumer group instead of the one "
        "that refused it",
    )
    replay.add_argument(
        "--from-beginning",
        action="store_true",
        help="read the whole topic, not from where the last replay stopped",
    )
    replay.add_argument("--dry-run", action="store_true", help="say what would be replayed")
    replay.set_defaults(func=run_replay)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bootstrap", default=None, help="default: MITL_KAFKA_BOOTSTRAP_SERVERS")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", default=None, help="reason kind: json, schema, item, data, ...")
    parser.add_argument("--service", default=None, help="the service that refused it")
    parser.add_argument("--group", default=None, help="the consumer group that refused it")
    parser.add_argument("--reason", default=None, help="a part of the reason (any case)")


def _settings(args: argparse.Namespace) -> ServiceSettings:
    settings = ServiceSettings()
    if args.bootstrap:
        settings = settings.model_copy(update={"kafka_bootstrap_servers": args.bootstrap})
    return settings


def _keep(args: argparse.Namespace) -> dead_letters.Filter:
    def keep(dead: DeadLetter) -> bool:
        return dead.matches(
            kind=args.kind, service=args.service, group=args.group, reason=args.reason
        )

    return keep


def _topic(args: argparse.Namespace) -> str | None:
    try:
        return dead_letters.check_topic(args.topic)
    except ValueError as error:
        print(f"mitl dlq: {error}", file=sys.stderr)
        return None


def _line(dead: DeadLetter) -> list[str]:
    at = dead.at.strftime("%Y-%m-%d %H:%M:%S") if dead.at else "?"
    value = dead.value.decode("utf-8", errors="replace")
    if len(value) > VALUE_CHARS:
        value = value[:VALUE_CHARS] + "…"
    source = f"{dead.source_topic}:{dead.source_partition}:{dead.source_offset}"
    again = f", replayed from {dead.replayed_from}" if dead.replayed_from else ""
    return [
        f"{dead.position}  {at} UTC  {dead.service} ({dead.group})  {dead.kind}",
        f"  reason:  {dead.reason}",
        f"  source:  {source}{again}",
        f"  message: {value}",
    ]


def run_list(args: argparse.Namespace) -> int:
    held = asyncio.run(dead_letters.held(_settings(args), dead_letters.dead_letter_topics()))
    if args.json:
        rows = [
            {
                "topic": h.topic,
                "records": h.records,
                "newest": h.newest.as_dict(value_chars=VALUE_CHARS) if h.newest else None,
            }
            for h in held
        ]
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(h.topic) for h in held)
    print(f"{'topic':<{width}}  {'records':>7}  newest")
    for h in held:
        newest = ""
        if h.newest is not None:
            at = h.newest.at.strftime("%Y-%m-%d %H:%M") if h.newest.at else "?"
            newest = f"{at}  {h.newest.service}: {h.newest.reason[:80]}"
        print(f"{h.topic:<{width}}  {h.records:>7}  {newest}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    topic = _topic(args)
    if topic is None:
        return 1
    found = asyncio.run(dead_letters.records(_settings(args), topic, _keep(args)))
    newest = found[-args.limit :]
    if args.json:
        print(json.dumps([d.as_dict() for d in newest], indent=2))
        return 0
    print(f"{topic}: {len(found)} record(s) match; the newest {len(newest)}, oldest first")
    for dead in newest:
        print("\n".join(_line(dead)))
    return 0


def run_replay(args: argparse.Namespace) -> int:
    topic = _topic(args)
    if topic is None:
        return 1
    report = asyncio.run(
        dead_letters.replay(
            _settings(args),
            topic,
            _keep(args),
            to_group=args.to_group,
            from_beginning=args.from_beginning,
            dry_run=args.dry_run,
        )
    )
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return 0
    verb = "would replay" if report.dry_run else "replayed"
    print(
        f"{topic}: read {report.read}, {verb} {len(report.replayed)}, "
        f"left by the filters {report.filtered_out}"
    )
    for dead in report.replayed:
        print(f"  {dead.position} -> {dead.source_topic} for {args.to_group or dead.group}")
    if report.unaddressed:
        groups = sorted({d.group or "(none)" for d in report.unaddressed})
        print(
            f"not replayed: {len(report.unaddressed)} record(s) of consumer group(s) "
            f"{', '.join(groups)}, which no consumer uses; name the group that should handle "
            "them with --to-group (and --from-beginning to reach them again)"
        )
    return 0
