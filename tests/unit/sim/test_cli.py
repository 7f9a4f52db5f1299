"""`mitl simulate --data FILE ...` end to end through `mitl_cli.main.main` on small synthetic
files (a features column: no encoder; one small text file with the real MiniLM): both modes'
JSON objects and their consistency, the table, the PNG, and every refused input (exit 2)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from mitl_cli.commands.simulate import config_from
from mitl_cli.main import build_parser, main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
COVERAGE_KEYS = {
    "items",
    "human_labels",
    "human_fraction",
    "auto_accepted",
    "auto_precision",
    "final_accuracy",
    "baseline_gt_human_labels",
    "baseline_gt_final_accuracy",
    "coverage",
    "spot_checks",
    "expert_labels",
    "dataset",
    "seed",
    "target",
    "baselines",
}
BUDGET_KEYS = {
    "curve",
    "items",
    "dataset",
    "seed",
    "budget",
    "random_accuracy_at_budget",
    "strategy_accuracy_at_budget",
    "strategy_labels_to_match",
    "savings_factor",
}


def features_csv(path: Path, n: int = 300, seed: int = 0) -> Path:
    """Three separable-ish classes of 8-d vectors, the features as JSON strings in CSV."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n)
    x = rng.normal(size=(3, 8))[truth] * 2 + rng.normal(size=(n, 8))
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "label", "features"])
        for i, (t, row) in enumerate(zip(truth, x, strict=True)):
            writer.writerow([i, f"class{t}", json.dumps([round(float(v), 5) for v in row])])
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["simulate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def json_lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_full_coverage_prints_one_consistent_object_per_seed_and_a_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = features_csv(tmp_path / "vectors.csv")
    plot = tmp_path / "out" / "coverage.png"
    code, out, err = run_cli(
        capsys,
        "--data", str(data), "--label-col", "label", "--features-col", "features",
        "--target-precision", "0.95", "--seeds", "0,1", "--initial", "30",
        "--retrain-every", "40", "--plot", str(plot), "--json", "--cache-dir", str(tmp_path),
    )  # fmt: skip
    assert code == 0, err
    reports = json_lines(out)
    assert [r["seed"] for r in reports] == [0, 1]
    for r in reports:
        assert COVERAGE_KEYS <= r.keys() and r["mode"] == "coverage"
        assert r["dataset"] == "vectors" and r["target"] == 0.95 and r["items"] == 300
        items, human = r["items"], r["human_labels"]
        assert isinstance(items, int) and isinstance(human, int)
        assert r["human_fraction"] == human / items
        assert 30 <= human <= items
        baselines = r["baselines"]
        assert isinstance(baselines, dict)
        gt, everything = baselines["ground_truth"], baselines["review_all"]
        assert r["baseline_gt_human_labels"] == gt["human_labels"]
        assert r["baseline_gt_final_accuracy"] == gt["final_correct"] / items
        assert r["baseline_review_all_human_labels"] == everything["human_labels"] == items
        accepted = r["auto_accepted"]
        assert isinstance(accepted, int) and accepted <= items
        if accepted:
            assert isinstance(r["auto_precision"], float) and 0 <= r["auto_precision"] <= 1
        else:
            assert r["auto_precision"] is None
        final_accuracy = r["final_accuracy"]
        assert isinstance(final_accuracy, float) and 0.0 <= final_accuracy <= 1.0
        gt_human = gt["human_labels"]
        assert isinstance(gt_human, int)
        assert r["labels_saved_vs_gt"] == pytest.approx(1 - human / gt_human)
        assert r["match_gt"] is True
        matched = r["at_gt_accuracy"]
        if matched is not None:  # the loop at the first floor reaching GT's accuracy
            assert isinstance(matched, dict)
            assert matched["final_accuracy"] >= gt["final_correct"] / items
            assert matched["labels_saved_vs_gt"] == pytest.approx(
                1 - matched["human_labels"] / gt_human
            )
            if matched["reruns"] == 0:
                assert matched["human_labels"] == human
            if matched["target"] != r["target"]:  # looser, and still at the policy's precision
                assert matched["target"] < r["target"]
                assert matched["auto_precision"] is None or matched["auto_precision"] >= r["target"]
    assert plot.read_bytes()[:8] == PNG_MAGIC and plot.stat().st_size > 10_000
    assert "wrote" in err


def test_budget_mode_prints_a_curve_per_seed_and_a_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = features_csv(tmp_path / "vectors.csv")
    plot = tmp_path / "budget.png"
    code, out, err = run_cli(
        capsys,
        "--data", str(data), "--label-col", "label", "--features-col", "features",
        "--target-precision", "0.95", "--budget", "120", "--step", "25", "--initial", "20",
        "--seed", "3", "--plot", str(plot), "--json", "--cache-dir", str(tmp_path),
    )  # fmt: skip
    assert code == 0, err
    (r,) = json_lines(out)
    assert BUDGET_KEYS <= r.keys() and r["mode"] == "budget" and r["seed"] == 3
    curve = r["curve"]
    assert isinstance(curve, list)
    assert [p["human_labels"] for p in curve] == [20, 45, 70, 95, 120]
    for point in curve:
        assert set(point) == {"human_labels", "strategy_accuracy", "random_accuracy"}
        assert 0.0 <= point["strategy_accuracy"] <= 1.0
        assert 0.0 <= point["random_accuracy"] <= 1.0
    # Both arms start from the same labels, so the first model is the same.
    assert curve[0]["strategy_accuracy"] == curve[0]["random_accuracy"]
    assert r["random_accuracy_at_budget"] == curve[-1]["random_accuracy"]
    assert r["strategy_accuracy_at_budget"] == curve[-1]["strategy_accuracy"]
    needed = r["strategy_labels_to_match"]
    if needed is not None:
        assert isinstance(needed, int)
        reached = [p for p in curve if p["human_labels"] == needed]
        assert reached and reached[0]["strategy_accuracy"] >= r["random_accuracy_at_budget"]
        assert r["savings_factor"] == round(120 / needed, 2)
    assert plot.read_bytes()[:8] == PNG_MAGIC


def test_without_json_it_prints_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = features_csv(tmp_path / "vectors.csv", n=200)
    code, out, _ = run_cli(
        capsys,
        "--data", str(data), "--features-col", "features", "--target", "0.9",
        "--error-rate", "0.05", "--initial", "30", "--retrain-every", "50",
    )  # fmt: skip
    assert code == 0
    header, *lines = out.splitlines()
    rows, comparisons = lines[:3], lines[3:]
    assert header.split()[:4] == ["dataset", "seed", "method", "items"]
    assert [row.split()[2] for row in rows] == ["loop", "ground_truth", "review_all"]
    assert rows[2].split()[4] == "200"  # review-all: every item labeled by people
    assert comparisons[0].startswith("  loop vs GT: ") and "human labels" in comparisons[0]
    assert comparisons[1].startswith("  at GT's accuracy")


def test_matching_gt_accuracy_can_be_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = features_csv(tmp_path / "vectors.csv", n=200)
    code, out, _ = run_cli(
        capsys,
        "--data", str(data), "--features-col", "features", "--target", "0.9", "--json",
        "--initial", "30", "--retrain-every", "50", "--no-match-gt",
    )  # fmt: skip
    assert code == 0
    (report,) = json_lines(out)
    assert report["match_gt"] is False and report["at_gt_accuracy"] is None


def test_a_text_file_runs_with_the_real_encoder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topics = {
        "sport": ["the striker scored a late goal", "the coach praised the defence"],
        "finance": ["shares fell on the stock market", "the bank raised interest rates"],
    }
    data = tmp_path / "news.jsonl"
    with data.open("w") as f:
        for i in range(60):
            label = "sport" if i % 2 else "finance"
            f.write(json.dumps({"label": label, "text": f"{topics[label][i % 4 // 2]} #{i}"}))
            f.write("\n")
    cache = tmp_path / "cache"
    argv = [
        "--data", str(data), "--text-col", "text", "--target-precision", "0.9",
        "--initial", "10", "--retrain-every", "10", "--json", "--cache-dir", str(cache),
    ]  # fmt: skip
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    (r,) = json_lines(out)
    assert r["items"] == 60 and r["dataset"] == "news" and r["final_accuracy"] == 1.0
    # Embedded once, cached: the embeddings and the leading states beside them.
    assert len(list(cache.glob("file-*-text-*.npy"))) == 2
    assert len(list(cache.glob("file-*-text-*-leading.npy"))) == 1
    assert run_cli(capsys, *argv)[1] == out  # the cached rerun gives the same result


def test_the_old_interface_still_parses() -> None:
    args = build_parser().parse_args(
        ["simulate", "--dataset", "trec6", "--seeds", "0,1,2", "--target", "0.9",
         "--error-rate", "0.1", "--budget", "1600", "--json"]
    )  # fmt: skip
    assert args.dataset == "trec6" and args.seeds == "0,1,2" and args.seed is None
    assert args.target == 0.9 and args.error_rate == 0.1 and args.budget == 1600
    new = build_parser().parse_args(
        ["simulate", "--data", "x.csv", "--target-precision", "0.97", "--annotator-error", "0.2",
         "--seed", "4"]
    )  # fmt: skip
    assert new.target == 0.97 and new.error_rate == 0.2 and new.seed == 4
    assert new.calibration_rate == 0.01 and new.min_accept_threshold == 0.9
    knobs = build_parser().parse_args(
        ["simulate", "--dataset", "trec6", "--calibration-rate", "0.05",
         "--min-accept-threshold", "0.95"]
    )  # fmt: skip
    config = config_from(knobs)
    assert config.calibration_rate == 0.05 and config.min_accept_threshold == 0.95
    assert config.policy().calibration_rate == 0.05


def _bad_file(tmp_path: Path, kind: str) -> Path:
    rows = {
        "empty_vector": [["a", "[1, 2]"], ["b", "[]"]],
        "non_finite": [["a", "[1, 2]"], ["b", "[NaN, 2]"]],
        "ragged": [["a", "[1, 2]"], ["b", "[1, 2, 3]"]],
        "one_label": [["a", "[1, 2]"], ["a", "[3, 4]"]],
        "empty_text": [["a", "  "], ["b", "fine"]],
    }[kind]
    path = tmp_path / f"{kind}.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([["label", "features" if kind != "empty_text" else "text"], *rows])
    return path


@pytest.mark.parametrize(
    ("kind", "extra", "message"),
    [
        ("empty_vector", ["--features-col", "features"], "row 2: column 'features' is an empty"),
        ("non_finite", ["--features-col", "features"], "row 2: column 'features' holds a non-fin"),
        ("ragged", ["--features-col", "features"], "row 2: column 'features' has 3 values"),
        ("one_label", ["--features-col", "features"], "needs at least 2 distinct labels"),
        ("empty_text", ["--text-col", "text"], "row 1: empty text in column 'text'"),
        ("ragged", ["--features-col", "vec"], "no column 'vec' (--features-col)"),
        ("ragged", ["--label-col", "y", "--features-col", "features"], "no column 'y'"),
        ("ragged", ["--features-col", "features", "--text-col", "t"], "exactly one of --text-col"),
        ("ragged", [], "exactly one of --text-col or --features-col"),
        (
            "ragged",
            ["--features-col", "features", "--target-precision", "1.5"],
            "--target-precision (policy field target_precision): Input should be less than 1",
        ),
        (
            "ragged",
            ["--features-col", "features", "--target", "0"],
            "--target-precision (policy field target_precision): Input should be greater than 0",
        ),
        ("ragged", ["--features-col", "features", "--seed", "1", "--seeds", "1,2"], "not both"),
        ("ragged", ["--features-col", "features", "--seeds", "1,x"], "comma-separated integers"),
        ("ragged", ["--features-col", "features", "--annotator-error", "1"], "--annotator-error"),
        (
            "ragged",
            ["--features-col", "features", "--calibration-rate", "1.5"],
            "--calibration-rate (policy field calibration_rate): Input should be less than or eq",
        ),
        (
            "ragged",
            ["--features-col", "features", "--calibration-floor-budget", "-1"],
            "--calibration-floor-budget (policy field calibration_floor_budget): Input should be",
        ),
        (
            "ragged",
            ["--features-col", "features", "--min-verified", "0"],
            "--min-verified (policy field min_verified): Input should be greater than or equal",
        ),
        (
            "ragged",
            ["--features-col", "features", "--min-accept-threshold", "0"],
            "--min-accept-threshold (policy field min_accept_threshold): Input should be greater",
        ),
    ],
)
def test_bad_input_exits_2_naming_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, extra: list[str], message: str
) -> None:
    path = _bad_file(tmp_path, kind)
    code, out, err = run_cli(capsys, "--data", str(path), "--cache-dir", str(tmp_path), *extra)
    assert code == 2 and out == ""
    assert err.startswith("mitl simulate: ") and message in err


def test_missing_or_unknown_files_and_sources_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = [
        (["--data", str(tmp_path / "nope.csv"), "--features-col", "f"], "nope.csv: no such file"),
        (["--data", str(tmp_path / "d.parquet"), "--features-col", "f"], "unknown file type"),
        (["--features-col", "f"], "give --data FILE or --dataset NAME"),
        (["--dataset", "trec6", "--data", "x.csv"], "give --data FILE or --dataset NAME"),
        (["--dataset", "trec6", "--text-col", "t"], "--text-col apply to --data FILE"),
    ]
    for argv, message in cases:
        code, out, err = run_cli(capsys, *argv, "--cache-dir", str(tmp_path))
        assert (code, out) == (2, ""), argv
        assert message in err, (argv, err)


def test_a_budget_the_data_cannot_hold_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = features_csv(tmp_path / "v.csv", n=100)
    base = ["--data", str(data), "--features-col", "features", "--initial", "10"]
    code, _, err = run_cli(capsys, *base, "--budget", "90")
    assert code == 2 and "--budget must be between --initial (10) and the 80 items" in err
    code, _, err = run_cli(capsys, *base, "--budget", "5")
    assert code == 2 and "--budget" in err


def test_an_unknown_strategy_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["simulate", "--data", "x.csv", "--features-col", "f", "--strategy", "greedy"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--strategy: invalid choice: 'greedy'" in err and "entropy" in err
