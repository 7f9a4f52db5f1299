from mitl_runtime.settings import ServiceSettings
from pydantic import Field

from mitl_drift.config import AgreementSizes, DriftConfig


class Settings(ServiceSettings):
    """Drift-monitor settings (`MITL_*`). Window sizes count events per (dataset, model_version)."""

    http_port: int = 8006
    # The first `reference_size` predictions a model version scores are its reference; the
    # latest `window_size` after those are compared with it every `evaluate_every` predictions.
    reference_size: int = Field(default=500, ge=10)
    window_size: int = Field(default=300, ge=10)
    evaluate_every: int = Field(default=50, ge=1)
    psi_alert: float = Field(default=0.2, gt=0)
    class_mix_alert: float = Field(default=0.2, gt=0)
    # Outlier scores are scaled so ~1.0 is the edge of the training data (mitl_ml.outlier).
    outlier_shift_alert: float = Field(default=0.25, gt=0)
    # Embedding sketches (Prediction.embedding_sketch): RMS over dimensions of the recent
    # mean's shift from the reference mean, in reference standard deviations.
    embedding_shift_alert: float = Field(default=0.2, gt=0)
    # Per predicted class (segment "class:<label>"): the absolute change of its share.
    class_share_alert: float = Field(default=0.15, gt=0, lt=1)
    # Human agreement with the model's suggestion: the first `agreement_reference_size` human
    # labels against the latest `agreement_window`; the statistic is the fall in the rate.
    agreement_reference_size: int = Field(default=100, ge=5)
    agreement_window: int = Field(default=100, ge=5)
    agreement_evaluate_every: int = Field(default=20, ge=1)
    agreement_drop_alert: float = Field(default=0.15, gt=0, lt=1)
    # Spot checks (human labels given blind): the fall in the share that chose the model's
    # label, i.e. in its estimated precision; the same windows, of blind labels only.
    spot_check_reference_size: int = Field(default=100, ge=5)
    spot_check_window: int = Field(default=100, ge=5)
    spot_check_evaluate_every: int = Field(default=20, ge=1)
    spot_check_drop_alert: float = Field(default=0.15, gt=0, lt=1)
    # Hysteresis: clear only below threshold * clear_ratio for `clear_after` evaluations in a
    # row; an alert above threshold * critical_ratio is critical.
    clear_ratio: float = Field(default=0.5, gt=0, le=1)
    clear_after: int = Field(default=3, ge=1)
    critical_ratio: float = Field(default=2.0, gt=1)
    # Event ids seen are kept this long, so a replay within it is not counted twice.
    seen_retention_hours: float = Field(default=168.0, gt=0)
    prune_interval_s: float = Field(default=300.0, gt=0)

    def drift_config(self) -> DriftConfig:
        """The pure core's view of these settings."""
        return DriftConfig(
            reference_size=self.reference_size,
            window_size=self.window_size,
            evaluate_every=self.evaluate_every,
            thresholds={
                "confidence_psi": self.psi_alert,
                "class_mix_psi": self.class_mix_alert,
                "outlier_shift": self.outlier_shift_alert,
                "embedding_shift": self.embedding_shift_alert,
                "class_share_shift": self.class_share_alert,
                "agreement_drop": self.agreement_drop_alert,
                "spot_check_drop": self.spot_check_drop_alert,
            },
            agreement=AgreementSizes(
                self.agreement_reference_size, self.agreement_window, self.agreement_evaluate_every
            ),
            spot_check=AgreementSizes(
                self.spot_check_reference_size,
                self.spot_check_window,
                self.spot_check_evaluate_every,
            ),
            clear_ratio=self.clear_ratio,
            clear_after=self.clear_after,
            critical_ratio=self.critical_ratio,
        )
