"""`mitl simulate` runs: one dataset, several seeds, full-coverage or budget mode.

Full coverage reports, per seed, the loop and both baselines; budget mode reports the two
curves and how many labels the strategy needed to reach random sampling's accuracy at the
budget. Every record is a flat dict (one JSON object per run with --json).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mitl_contracts.datasets import Policy

from mitl_ml.sim.baselines import ground_truth_style, review_all
from mitl_ml.sim.budget import budget_curves
from mitl_ml.sim.coverage import full_coverage
from mitl_ml.sim.embeddings import DEFAULT_CACHE_DIR
from mitl_ml.sim.oracle import Oracle
from mitl_ml.sim.world import World, load_world


@dataclass(frozen=True)
class SimConfig:
    dataset: str
    seeds: tuple[int, ...]
    target: float = 0.98
    budget: int | None = None
    retrain_every: int = 50
    initial: int = 100
    step: int = 50
    error_rate: float = 0.0
    strategy: str = "entropy"
    diversity: float = 0.5
    spot_check_rate: float = 0.005
    spot_check_max_rate: float = 0.02
    limit: int | None = None
    cache_dir: Path = DEFAULT_CACHE_DIR

    def policy(self) -> Policy:
        """The policy under test (validated like any dataset's policy)."""
        return Policy(
            version=f"sim-{self.dataset}",
            target_precision=self.target,
            uncertainty=self.strategy,  # validated: an unknown strategy is refused
            diversity_weight=self.diversity,
            spot_check_rate=self.spot_check_rate,
            spot_check_max_rate=self.spot_check_max_rate,
            escalation_floor=0.0,
        )


def _world(config: SimConfig, seed: int) -> World:
    world = load_world(config.dataset, config.cache_dir)
    return world.subset(config.limit, seed) if config.limit else world


def simulate(config: SimConfig) -> Iterator[dict[str, object]]:
    """Yield one record per (method, seed), as runs finish."""
    policy = config.policy()
    for seed in config.seeds:
        world = _world(config, seed)
        oracle = Oracle(world.truth, len(world.labels), config.error_rate, seed)
        if config.budget is None:
            loop = full_coverage(
                world,
                policy,
                seed=seed,
                retrain_every=config.retrain_every,
                initial=config.initial,
                oracle=oracle,
            )
            yield loop.as_dict()
            yield review_all(world, policy, seed=seed, oracle=oracle).as_dict()
            yield ground_truth_style(world, policy, seed=seed, oracle=oracle).as_dict()
            continue
        strategy, random = budget_curves(
            world,
            policy,
            seed=seed,
            budget=config.budget,
            step=config.step,
            initial=config.initial,
            oracle=oracle,
        )
        reference = random.accuracy_at(config.budget)
        needed = strategy.labels_to_reach(reference)
        summary = {
            "mode": "budget_summary",
            "dataset": world.name,
            "seed": seed,
            "strategy": config.strategy,
            "budget": config.budget,
            "random_accuracy_at_budget": reference,
            "strategy_accuracy_at_budget": strategy.accuracy_at(config.budget),
            "strategy_labels_to_match": needed,
            "savings_factor": round(config.budget / needed, 2) if needed else None,
        }
        yield strategy.as_dict()
        yield random.as_dict()
        yield summary
