"""Settings come from MITL_* variables and become the core's DriftConfig."""

from __future__ import annotations

import pytest
from mitl_drift.config import CONFIDENCE_PSI, STATISTICS, AgreementSizes, DriftConfig
from mitl_drift.settings import Settings
from pydantic import ValidationError


def test_defaults_and_environment_reach_the_core_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MITL_PSI_ALERT", "0.3")
    monkeypatch.setenv("MITL_WINDOW_SIZE", "120")
    settings = Settings()
    config = settings.drift_config()
    assert settings.http_port == 8006
    assert config.thresholds[CONFIDENCE_PSI] == 0.3 and config.window_size == 120
    assert (config.reference_size, config.evaluate_every) == (500, 50)
    assert (config.clear_ratio, config.critical_ratio) == (0.5, 2.0)
    assert set(config.thresholds) == set(STATISTICS)


def test_bad_values_are_refused_with_their_name() -> None:
    with pytest.raises(ValidationError, match="clear_ratio"):
        Settings(clear_ratio=1.5)
    with pytest.raises(ValidationError, match="critical_ratio"):
        Settings(critical_ratio=1.0)
    with pytest.raises(ValueError, match="no threshold for agreement_drop"):
        DriftConfig(thresholds={CONFIDENCE_PSI: 0.2, "class_mix_psi": 0.2, "outlier_shift": 0.2})
    with pytest.raises(ValueError, match="window_size must be at least 1"):
        DriftConfig(window_size=0)
    with pytest.raises(ValueError, match=r"spot_check\.window must be at least 1"):
        DriftConfig(spot_check=AgreementSizes(reference=10, window=0, evaluate_every=5))


def test_agreement_window_settings_reach_the_core_config() -> None:
    config = Settings(agreement_window=40, spot_check_reference_size=60).drift_config()
    assert config.agreement == AgreementSizes(reference=100, window=40, evaluate_every=20)
    assert config.spot_check == AgreementSizes(reference=60, window=100, evaluate_every=20)


def test_default_settings_are_the_core_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(Settings.model_fields):
        monkeypatch.delenv(f"MITL_{name.upper()}", raising=False)
    assert Settings().drift_config() == DriftConfig()
