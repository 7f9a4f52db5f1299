"""The simulator on the image datasets: PNG items decoded to pixels, the pixels head."""

from __future__ import annotations

import numpy as np
import pytest
from mitl_cli.commands.simulate import config_from
from mitl_cli.main import build_parser
from mitl_ml.sim.report import report
from mitl_ml.sim.runner import CoverageRun, SimConfig, load, runs
from mitl_ml.sim.world import load_world


def test_an_image_world_holds_standardised_pixels() -> None:
    world = load_world("lfw")
    assert world.x.shape == (200, 625) and world.labels == ["face", "non-face"]
    assert np.bincount(world.truth).tolist() == [100, 100]
    assert np.allclose(world.x.mean(axis=0), 0.0, atol=1e-6)


def test_an_image_dataset_runs_only_the_pixels_head() -> None:
    with pytest.raises(ValueError, match="holds images: its model is 'pixels', not 'hybrid'"):
        load(SimConfig(dataset="digits", seeds=(0,), model="hybrid"))


def test_digits_loop_keeps_the_target_and_is_compared_with_gt() -> None:
    config = SimConfig(dataset="digits", seeds=(0,), target=0.95, model="pixels")
    (run,) = list(runs(config))
    assert isinstance(run, CoverageRun)
    assert run.loop.items == 1797 and run.loop.auto_accepted > 0
    assert run.loop.accepted_correct / run.loop.auto_accepted >= 0.95
    out = report(run, config)
    assert out["model"] == "pixels" and out["dataset"] == "digits"
    assert {"human_labels", "auto_precision", "baseline_gt_human_labels"} <= set(out)


def test_the_cli_picks_the_pixels_head_for_an_image_dataset() -> None:
    image = config_from(build_parser().parse_args(["simulate", "--dataset", "lfw"]))
    assert (image.dataset, image.model) == ("lfw", "pixels")
    text = config_from(build_parser().parse_args(["simulate", "--dataset", "sms_spam"]))
    assert text.model == "hybrid"


def test_the_cli_picks_each_text_datasets_measured_head() -> None:
    """TREC-6 runs the head that reads the opening word unless --model says otherwise; a file
    of the user's own runs the plain hybrid."""
    parse = build_parser().parse_args
    assert config_from(parse(["simulate", "--dataset", "trec6"])).model == "hybrid-leading"
    chosen = config_from(parse(["simulate", "--dataset", "trec6", "--model", "hybrid"]))
    assert chosen.model == "hybrid"
    own = config_from(parse(["simulate", "--data", "x.csv", "--text-col", "text"]))
    assert own.model == "hybrid"
