import pytest

# The fuzz modules' fixtures (one fuzz server per module): tests/fuzz/harness.py.
from tests.fuzz.harness import admin_account, api_schema, fuzz_server, seeds, user_account  # noqa: F401


@pytest.fixture(autouse=True)
def _schemathesis_node_id(request):
    """schemathesis 4.32's lazy loader relabels ``node._nodeid`` per operation for its reports; pytest 9 keeps
    the id elsewhere. Give it the attribute (reporting only; the test id pytest shows is unchanged)."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
    yield
