"""Small pure parts of start-up and of keyset reads: the slice list and the residual-filter predicate."""
import pytest

from tradesignals import slices
from tradesignals.kernel import keyset


def test_parse_defaults_to_all_and_rejects_unknown():
    assert slices.parse(None) == ("accounts", "users", "signals", "discussions")
    assert slices.parse("") == slices.ALL
    assert slices.parse(" signals , accounts ") == ("accounts", "signals")
    assert slices.parse("Discussions,signals,discussions") == ("signals", "discussions")
    with pytest.raises(Exception, match="unknown slice.*payments"):
        slices.parse("signals,payments")


def test_equals_builds_no_predicate_for_no_residual_filters():
    assert keyset.equals({}) is None
    assert keyset.equals({"a": 1})({"a": 1, "b": 2}) is True
    assert keyset.equals({"a": 1})({"a": 2}) is False
