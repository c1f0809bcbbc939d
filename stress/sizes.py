"""How big each part runs: `full` (make stress) and `small` (CI, under ~6 minutes on 2 cores)."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Size:
    fuzz_inputs: int  # generated inputs across all fuzz targets
    kill_points: int  # timed SIGKILLs per plugin during ADD
    chains: int  # parallel chain ADDs then DELs on one network
    workers: int  # worker pool for the chains
    race_rounds: int  # rounds of concurrent ADDs racing to create one bridge / nft table
    racers: int  # ADDs per race round

    def with_fuzz_inputs(self, n: int) -> Size:
        return replace(self, fuzz_inputs=n)


SIZES = {
    "full": Size(fuzz_inputs=110_000, kill_points=12, chains=200, workers=8, race_rounds=6, racers=12),
    "small": Size(fuzz_inputs=12_000, kill_points=1, chains=20, workers=6, race_rounds=1, racers=8),
    "tiny": Size(fuzz_inputs=600, kill_points=2, chains=6, workers=3, race_rounds=1, racers=4),
}
