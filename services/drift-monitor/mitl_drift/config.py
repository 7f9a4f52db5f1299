"""What the pure core is configured with: window sizes, thresholds and hysteresis."""

from __future__ import annotations

from dataclasses import dataclass, field

CONFIDENCE_PSI = "confidence_psi"
CLASS_MIX_PSI = "class_mix_psi"
OUTLIER_SHIFT = "outlier_shift"
EMBEDDING_SHIFT = "embedding_shift"
# Per class, segment "class:<label>": how far the class's share of predictions moved.
CLASS_SHARE_SHIFT = "class_share_shift"
AGREEMENT_DROP = "agreement_drop"
SPOT_CHECK_DROP = "spot_check_drop"
PREDICTION_STATISTICS = (
    CONFIDENCE_PSI,
    CLASS_MIX_PSI,
    OUTLIER_SHIFT,
    EMBEDDING_SHIFT,
    CLASS_SHARE_SHIFT,
)
STATISTICS = (*PREDICTION_STATISTICS, AGREEMENT_DROP, SPOT_CHECK_DROP)

DEFAULT_THRESHOLDS = {
    CONFIDENCE_PSI: 0.2,
    CLASS_MIX_PSI: 0.2,
    OUTLIER_SHIFT: 0.25,
    EMBEDDING_SHIFT: 0.2,
    CLASS_SHARE_SHIFT: 0.15,
    AGREEMENT_DROP: 0.15,
    SPOT_CHECK_DROP: 0.15,
}


@dataclass(frozen=True)
class AgreementSizes:
    """Reference size, window size and evaluation period of one kind of agreement window."""

    reference: int
    window: int
    evaluate_every: int


@dataclass(frozen=True)
class DriftConfig:
    """Sizes count events of one (dataset, model_version); thresholds are per statistic.

    `agreement` sizes the windows of human labels given with the model's suggestion shown;
    `spot_check` those of blind ones (the suggestion hidden), whose agreement estimates
    precision."""

    reference_size: int = 500
    window_size: int = 300
    evaluate_every: int = 50
    thresholds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    agreement: AgreementSizes = AgreementSizes(reference=100, window=100, evaluate_every=20)
    spot_check: AgreementSizes = AgreementSizes(reference=100, window=100, evaluate_every=20)
    clear_ratio: float = 0.5
    clear_after: int = 3
    critical_ratio: float = 2.0

    def __post_init__(self) -> None:
        missing = set(STATISTICS) - set(self.thresholds)
        if missing:
            raise ValueError(f"no threshold for {', '.join(sorted(missing))}")
        if not 0 < self.clear_ratio <= 1:
            raise ValueError(f"clear_ratio {self.clear_ratio} must be within (0, 1]")
        if self.critical_ratio <= 1:
            raise ValueError(f"critical_ratio {self.critical_ratio} must be above 1")
        sizes = {
            name: getattr(self, name)
            for name in ("reference_size", "window_size", "evaluate_every", "clear_after")
        }
        for stream in ("agreement", "spot_check"):
            for name, size in vars(getattr(self, stream)).items():
                sizes[f"{stream}.{name}"] = size
        for name, size in sizes.items():
            if size < 1:
                raise ValueError(f"{name} must be at least 1")
