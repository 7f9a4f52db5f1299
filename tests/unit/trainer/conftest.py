"""The trainer package lives in services/trainer, which the editable install does not list yet:
make it importable for these tests (and only these)."""

from __future__ import annotations

import sys
from pathlib import Path

TRAINER = Path(__file__).resolve().parents[3] / "services" / "trainer"
if str(TRAINER) not in sys.path:
    sys.path.insert(0, str(TRAINER))
