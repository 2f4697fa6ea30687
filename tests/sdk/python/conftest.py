import os

import pytest

from roster_harness import Roster, start


@pytest.fixture(scope="module")
def roster(request):
    """A roster server for the module, seeded with the module's SEED file name. What the
    module's tests built is then moved, by snapshot, into a roster on a fresh PostgreSQL
    database (when one is configured), which must export the very same file."""
    seed = getattr(request.module, "SEED")
    server = start(seed)
    yield server
    server.advance_clock(0)
    if os.environ.get("ROSTER_TEST_DATABASE_URL"):
        built = server.snapshot()
        moved = Roster(seed, backend="postgres")
        try:
            moved.load_snapshot(built)
            assert moved.snapshot() == built, "a snapshot loaded elsewhere exports unchanged"
        finally:
            moved.stop()
    server.stop()
