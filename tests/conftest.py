import os
from pathlib import Path

import pytest

DATA = os.environ.get("GRAPHCLUST_DATA")
HAS_DATA = bool(DATA) and (Path(DATA) / "planetoid" / "cora" / "raw").is_dir()

requires_data = pytest.mark.skipif(
    not HAS_DATA, reason="set GRAPHCLUST_DATA to the shared benchmark data (.ci/run does)"
)


@pytest.fixture(scope="session")
def data_root() -> Path:
    if not HAS_DATA:
        pytest.skip("GRAPHCLUST_DATA not set")
    return Path(DATA)  # type: ignore[arg-type]
