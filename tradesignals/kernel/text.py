"""Text facts shared by the API's fields and the apps' models (no DRF here: models may import it)."""
from __future__ import annotations


def char_ranges(codepoints) -> str:
    """The body of a character class naming ``codepoints`` as ``\\uXXXX``/``\\UXXXXXXXX`` ranges."""
    def escape(point: int) -> str:
        return f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"

    points, parts = sorted(set(codepoints)), []
    start = previous = None
    for point in [*points, None]:
        if start is not None and point == previous + 1:
            previous = point
            continue
        if start is not None:
            parts.append(escape(start) if start == previous else f"{escape(start)}-{escape(previous)}")
        start = previous = point
    return "".join(parts)
