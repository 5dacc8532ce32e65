"""Where route keeps its files. `ROUTE_HOME` moves all of them under one folder (tests use it)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "route"


@dataclass(frozen=True)
class Paths:
    config_dir: Path  # the user's routes.yaml lives here
    data_dir: Path  # the cost ledger
    state_dir: Path  # cooldowns
    cache_dir: Path  # resolved prices

    @property
    def user_policy(self) -> Path:
        return self.config_dir / "routes.yaml"

    @property
    def ledger(self) -> Path:
        return self.data_dir / "ledger.sqlite3"

    @property
    def cooldowns(self) -> Path:
        return self.state_dir / "cooldowns.json"

    @property
    def price_cache(self) -> Path:
        return self.cache_dir / "prices.json"


def get_paths() -> Paths:
    home = os.environ.get("ROUTE_HOME")
    if home:
        base = Path(home).expanduser()
        return Paths(base / "config", base / "data", base / "state", base / "cache")
    import platformdirs  # imported here: only commands that touch files pay for it

    dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
    return Paths(
        Path(dirs.user_config_dir),
        Path(dirs.user_data_dir),
        Path(dirs.user_state_dir),
        Path(dirs.user_cache_dir),
    )
