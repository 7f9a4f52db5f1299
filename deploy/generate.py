"""Render the deploy files from deploy/services.yaml, so that a service is declared once.

    python deploy/generate.py           # write every rendered file that changed
    python deploy/generate.py --check   # write nothing; exit 1 naming each file not current

Renders docker-compose.yml (from deploy/compose/template.yml), deploy/k8s/base/**, the
components' ServiceMonitors, PrometheusRule and ScaledObjects, the prod overlay's
sizing.yaml, deploy/prometheus/prometheus.yml and its alerting rules (rules.yml beside it).
The modules that do it are in deploy/mitl_deploy/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mitl_deploy.catalog import ROOT, load_catalog
from mitl_deploy.render import render, stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="render the deploy files")
    parser.add_argument("--check", action="store_true", help="only report files not current")
    args = parser.parse_args(argv)
    files = render(load_catalog())
    outdated = stale(files)
    for path in outdated:
        name = path.relative_to(ROOT)
        if args.check:
            print(f"not current: {name}", file=sys.stderr)
        elif path in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[path])
            print(f"wrote {name}")
        else:
            path.unlink()  # a service removed from the catalog
            print(f"removed {name}")
    if args.check and outdated:
        print("run: python deploy/generate.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
