"""How often the accepted-precision intervals hold the true precision (mitl_policy.ppi).

Each trial draws 1,000 accepted items with confidences from Beta(a, 1) (precision about
a / (a + 1)), outcomes right with probability confidence - overconfidence, and `n` of them as
spot checks; the true precision is the share of the 1,000 that are right. It prints, per
setting, how often each nominal 95 % interval holds it and its mean width: the
prediction-powered interval without and with the pseudo-checks (PSEUDO_PAIRS) and Wilson's on
the spot checks alone.

    python scripts/ppi_coverage.py [--trials 1500] [--json]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from mitl_policy.ppi import PSEUDO_PAIRS, ppi_interval, wilson_interval

SETTINGS = ((19, 0.0), (49, 0.0), (199, 0.0), (19, 0.05))
CHECKS = (10, 30, 100, 300)
ACCEPTED = 1000


def coverage(a: int, shift: float, n: int, trials: int, seed: int = 0) -> dict[str, object]:
    rng = np.random.default_rng([a, n, int(shift * 1000), seed])
    held = {"ppi_plain": 0, "ppi": 0, "wilson": 0}
    width = dict.fromkeys(held, 0.0)
    truth_sum = 0.0
    for _ in range(trials):
        f = rng.beta(a, 1, size=ACCEPTED)
        right = rng.random(ACCEPTED) < np.clip(f - shift, 0, 1)
        truth = float(right.mean())
        truth_sum += truth
        picked = rng.choice(ACCEPTED, n, replace=False)
        checked = [(float(f[i]), bool(right[i])) for i in picked]
        confidences = f.tolist()
        intervals = {
            "ppi_plain": ppi_interval(confidences, checked, 0.95, pseudo_pairs=0),
            "ppi": ppi_interval(confidences, checked, 0.95, pseudo_pairs=PSEUDO_PAIRS),
            "wilson": wilson_interval(sum(y for _, y in checked), n, 0.95),
        }
        for name, interval in intervals.items():
            held[name] += interval.low <= truth <= interval.high
            width[name] += interval.width
    return {
        "precision": round(truth_sum / trials, 3),
        "overconfident_by": shift,
        "spot_checks": n,
        **{f"{name}_coverage": round(held[name] / trials, 3) for name in held},
        **{f"{name}_width": round(width[name] / trials, 3) for name in held},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1500)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [coverage(a, shift, n, args.trials) for a, shift in SETTINGS for n in CHECKS]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print("precision  overconf  checks | plain PPI cover/width | PPI (shipped) | Wilson")
    for r in rows:
        print(
            f"{r['precision']:>9}  {r['overconfident_by']:>8}  {r['spot_checks']:>6} | "
            f"{r['ppi_plain_coverage']:.3f} / {r['ppi_plain_width']:.3f} | "
            f"{r['ppi_coverage']:.3f} / {r['ppi_width']:.3f} | "
            f"{r['wilson_coverage']:.3f} / {r['wilson_width']:.3f}"
        )


if __name__ == "__main__":
    main()
