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


def test_the_invisible_characters_discussions_refuse_as_text_are_unicode_s_format_characters():
    import unicodedata

    from apps.discussions.models import _BIDI, INVISIBLE_RANGES

    listed = {c for low, high in INVISIBLE_RANGES for c in range(low, high + 1)}
    assert listed == {c for c in range(0x10000) if unicodedata.category(chr(c)) == "Cf"} - {ord(ch) for ch in _BIDI}
