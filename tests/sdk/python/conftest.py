import pytest

from roster_harness import Roster


@pytest.fixture(scope="module")
def roster(request):
    """A roster server for the module, seeded with the module's SEED file name."""
    server = Roster(getattr(request.module, "SEED"))
    yield server
    server.advance_clock(0)
    server.stop()
