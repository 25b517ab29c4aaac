"""Strict input fields: exact JSON types, decimals that keep their digits, no silently dropped fields.

DRF's defaults are lenient in ways that hurt money data: ``CharField`` accepts numbers, ``DecimalField``
accepts ``true``, and unknown fields are ignored (and ``JSONParser`` turns ``64000.10`` into a float: see
``kernel.drf.parsers``). These classes refuse all of that with a per-field 400. The same fields read query
parameters (``text=True``) for every list's ``FilterSerializer`` (``kernel.drf.filters``), and every request
body is a ``StrictInputSerializer``.

Every value is bounded by its length before anything else looks at it, and numbers are read by slicing and
``str.isdigit`` on ASCII text, never by a regular expression: a backtracking pattern turns a long run of
digits ending in a letter into seconds of CPU. Python's ``int()`` and ``Decimal()`` accept digits of every
script ("١٢", "１２"), underscores ("5_0") and surrounding Unicode spaces; a number here is plain ASCII.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation

from django.core.validators import EmailValidator, URLValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tradesignals.kernel.drf.parsers import (  # noqa: F401 - re-exported: settings name the parsers here
    DecimalJSONParser,
    DuplicateKey,
    StrictJSONParser,
    UnrepresentableNumber,
    field_label,
)
from tradesignals.kernel.errors import ValidationFailed, must_be_one_of
from tradesignals.kernel.numbers import (
    MAX_DECIMAL_LENGTH,
    MAX_INTEGER_DIGITS,
    is_non_finite,
    parse_ascii_decimal,
    parse_ascii_int,
)
from tradesignals.kernel.text import char_ranges  # noqa: F401 - re-exported: the fields' patterns

IDENTIFIER_MAX = 64
IDENTIFIER_SCHEMA = {"type": "string", "pattern": f"^[A-Za-z0-9]{{1,{IDENTIFIER_MAX}}}$"}  # is_identifier


# --- OpenAPI: what these fields accept, stated next to the code that decides it ---------------------------
# tradesignals.kernel.drf.schema puts these facts into the request schemas (bodies and parameters). Patterns
# are read by Python's ``re`` and by Rust's ``regex`` (schema validators), so they use ``\uXXXX`` and
# ``\UXXXXXXXX`` escapes and never ``\s``, which the two define differently. DRF's CharField also refuses a
# lone surrogate ("\ud800" is valid JSON); that is no Unicode scalar value, so no pattern can name it.
WHITESPACE = (r"\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f"
              r"\u3000")  # exactly what str.isspace() is true for, so what trim_whitespace strips
NOT_TEXT = r"\u0000"  # DRF's CharField refuses NUL anywhere (ProhibitNullCharactersValidator)
# An https URL that Django's URLValidator and ``urlsplit`` alike accept: 2-4 lower-case labels (at most 253
# characters in all), a letter TLD, an optional path. Fewer URLs than are accepted (no ports, IPs, IDNs or
# queries), so whatever matches it is taken.
HTTPS_URL_PATTERN = (r"^https://(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){1,3}[a-z]{2,61}"
                     r"(?:/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?$")
# An address Django's EmailValidator accepts: a dot-atom local part, host labels, a TLD of 2-63 letters
# (it refuses "a@b.c" and "a@b.00", which the "email" format allows). Fewer than it accepts (no quoted local
# parts, IP literals or IDNs).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z][A-Za-z-]{{0,61}}[A-Za-z]$"
DECIMAL_SCHEMA = {"type": "string", "format": "decimal", "example": "64000.50"}
DECIMAL_TEXT_PATTERN = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"  # parse_ascii_decimal


def positive_decimal_schema(*, integer_digits: int, places: int) -> dict:
    """The request schema of a ``StrictDecimalField`` whose normaliser takes a number above 0 and below
    ``10**integer_digits`` with at most ``places`` decimal places (trailing zeros do not count), built from
    those two bounds so the document cannot drift from the rule.

    As text: ``parse_ascii_decimal``'s positional notation (an optional ``+``, leading zeros, a trailing dot)
    within the bounds — exactly what is taken, except exponent notation (``"6.4e4"``), which is read as well
    but which no pattern can bound by its value. As a JSON number: the bounds and ``multipleOf``."""
    scale = Decimal(1).scaleb(-places)
    whole = rf"0*[1-9][0-9]{{0,{integer_digits - 1}}}(?:\.[0-9]{{0,{places}}}0*)?"  # 1 and up
    fraction = rf"0*\.[0-9]{{0,{places - 1}}}[1-9]0*"  # below 1: a non-zero digit within the places
    text = {**DECIMAL_SCHEMA, "pattern": rf"^\+?(?:{whole}|{fraction})$", "maxLength": MAX_DECIMAL_LENGTH}
    number = {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 10**integer_digits,
              "exclusiveMaximum": True, "multipleOf": float(scale)}
    return {"anyOf": [text, number], "example": DECIMAL_SCHEMA["example"],
            "description": f"Above 0 and below 10^{integer_digits}, at most {places} decimal places: a decimal "
                           f"string (as rendered, e.g. \"{DECIMAL_SCHEMA['example']}\") or a JSON number."}


def password_policy_schema() -> dict:
    """The request schema of a new password, from the settings' ``AUTH_PASSWORD_VALIDATORS`` (the validators
    the services run): the minimum length as ``minLength``, and the whole policy, in the validators' own
    words, as the description — its other rules (not common, not like the email or name) no schema states,
    so they are the 400 an operation taking a new password answers beyond its schema."""
    from django.contrib.auth import password_validation

    validators = password_validation.get_default_password_validators()
    lengths = [validator.min_length for validator in validators
               if isinstance(validator, password_validation.MinimumLengthValidator)]
    policy = " ".join(str(text) for text in password_validation.password_validators_help_texts(validators))
    return {"minLength": max(lengths, default=1), "description": policy}


def text_pattern(*, stripped: bool = False, blank: bool = True, stripped_max: int | None = None,
                 refused: str = "") -> str:
    """The strings a text field takes, as a pattern: no NUL and no character of ``refused`` (a class body).

    ``stripped``: surrounding whitespace is removed before the field's rules run, so it may be anything and
    ``refused`` applies to what is left; ``blank=False`` then needs one character that is not whitespace, and
    ``stripped_max`` bounds what is left. Unstripped, a blank is just ``""`` (``minLength``)."""
    text = f"[^{NOT_TEXT}{refused}]"
    if not stripped or (blank and not refused and stripped_max is None):
        return f"^{text}*$"
    solid = f"[^{WHITESPACE}{NOT_TEXT}{refused}]"
    if not blank and not refused and stripped_max is None:
        return f"^{text}*{solid}{text}*$"  # the same language as below, said shortly
    inner = "*" if stripped_max is None else f"{{0,{max(stripped_max - 2, 0)}}}"
    core = f"{solid}(?:{text}{inner}{solid})?"
    edge = f"[{WHITESPACE}]*"
    return f"^{edge}{core}{edge}$" if not blank else f"^{edge}(?:{core})?{edge}$"


def is_identifier(text: str) -> bool:
    """An id as the product issues them (ObjectIds, token subjects, session ids): 1–64 ASCII letters or
    digits. Checked before an id reaches a query, so no other text is ever looked up."""
    return isinstance(text, str) and 0 < len(text) <= IDENTIFIER_MAX and text.isascii() and text.isalnum()


def _apply(normalize: Callable | None, value):
    if normalize is None:
        return value
    try:
        return normalize(value)
    except ValueError as exc:
        raise serializers.ValidationError(str(exc)) from None


class StrictCharField(serializers.CharField):
    """Only a JSON string is a string (no numbers, booleans, arrays); an optional normaliser applies the
    domain rule and turns its ``ValueError`` into this field's message.

    ``max_length`` bounds the text as received, before trimming, normalising or any validator reads it: 64 KiB
    of spaces around one letter is refused, not trimmed to the letter, and no pattern ever sees more than
    ``max_length`` characters.

    ``schema`` states the normaliser's rule for the OpenAPI document (a dict, or a function returning one
    when the document is built); it changes nothing about what is accepted."""

    default_error_messages = {"invalid": "Must be a string."}

    def __init__(self, *, normalize: Callable[[str], object] | None = None,
                 schema: dict | Callable[[], dict] | None = None, **kwargs):
        self.normalize = normalize
        self.declared_schema = schema
        super().__init__(**kwargs)

    def openapi_schema(self) -> dict:
        """What this field takes beyond its type and length: DRF's own refusals (NUL; a blank once trimmed),
        then the normaliser's rule as declared (``schema``)."""
        declared = self.declared_schema() if callable(self.declared_schema) else self.declared_schema
        return {"pattern": text_pattern(stripped=self.trim_whitespace, blank=self.allow_blank), **(declared or {})}

    def run_validation(self, data=serializers.empty):
        if isinstance(data, str) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().run_validation(data)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return _apply(self.normalize, super().to_internal_value(data))


class StrictEmailField(StrictCharField):
    """An email address, bounded to ``max_length`` (254, RFC 5321) before Django's ``EmailValidator`` runs
    its patterns. Those are linear at that length, so hostile shapes of a few hundred characters are cheap;
    what they must never see is 64 KiB, and the validator's own 320-character guard is not ours to rely on."""

    def __init__(self, *, max_length: int = 254, **kwargs):
        super().__init__(max_length=max_length, **kwargs)
        self.validators.append(EmailValidator(message="Enter a valid email address."))

    def openapi_schema(self) -> dict:
        return {**super().openapi_schema(), "format": "email", "pattern": EMAIL_PATTERN}


class StrictURLField(StrictCharField):
    """A URL, bounded to ``max_length`` (default 2048) before Django's ``URLValidator`` runs its patterns,
    which are cheap on hostile shapes of that length and must never see more."""

    def __init__(self, *, max_length: int = 2048, **kwargs):
        super().__init__(max_length=max_length, **kwargs)
        self.validators.append(URLValidator(message="Enter a valid URL."))

    def openapi_schema(self) -> dict:
        # No "format": "uri": URLValidator takes URLs RFC 3986 does not ("https://a.io/%."), so that format
        # would call accepted values invalid. ``None`` keeps drf-spectacular from adding it.
        return {**super().openapi_schema(), "format": None}


class StrictChoiceField(serializers.ChoiceField):
    """Exactly one of the choices (no trimming, no case folding); anything else names the choices, and
    never echoes the input back."""

    default_error_messages = {
        "invalid": "Must be a string.",
    }

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if data not in self.choices:
            raise serializers.ValidationError(must_be_one_of(self.choices), code="invalid_choice")
        return data


@extend_schema_field(IDENTIFIER_SCHEMA)
class StrictIdentifierField(serializers.Field):
    """An id as the product issues them (``is_identifier``): checked before it reaches a query, so no other
    text is ever looked up. ``noun`` names what kind of id the message asks for ("a user id")."""

    default_error_messages = {"invalid": "Must be {noun} (1–64 letters or digits)."}

    def __init__(self, *, noun: str = "an id", **kwargs):
        self.noun = noun
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not is_identifier(data):
            self.fail("invalid", noun=self.noun)
        return data

    def to_representation(self, value):
        return value


@extend_schema_field({"type": "boolean"})
class StrictBooleanField(serializers.Field):
    """``true`` or ``false``: a JSON boolean, or — with ``text=True``, for a query-string parameter, where every
    value is text — exactly that text. In a JSON body ``"true"`` is a string and refused. DRF's BooleanField also
    takes "yes", "on", "t", "1" and friends; an enumerated parameter here has exactly two members."""

    default_error_messages = {"invalid": "Must be true or false."}
    _TEXT = {"true": True, "false": False}

    def __init__(self, *, text: bool = False, **kwargs):
        self.text = text
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        if self.text and isinstance(data, str) and data in self._TEXT:
            return self._TEXT[data]
        self.fail("invalid")

    def to_representation(self, value):
        return bool(value)


class StrictIntegerField(serializers.IntegerField):
    """A whole number in ``[min_value, max_value]``: a JSON integer, or ASCII digits 0-9 in a query string
    (``parse_ascii_int``). DRF's IntegerField goes through ``int()``, which reads "５０", "٥" and "5_0" (and
    raises on "²"). Subclassed only for its schema (type, minimum, maximum)."""

    default_error_messages = {"invalid": "Must be an integer from {min_value} to {max_value}."}

    def __init__(self, *, min_value: int = 0, max_value: int = 10**MAX_INTEGER_DIGITS - 1, text: bool = False,
                 **kwargs):
        self.text = text  # a query-string parameter: ASCII digits; in a JSON body only a JSON integer
        super().__init__(min_value=min_value, max_value=max_value, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            value = None
        elif isinstance(data, int):
            value = data
        elif self.text and isinstance(data, str):
            try:
                value = parse_ascii_int(data)
            except ValueError:
                value = None
        else:
            value = None
        if value is None or not self.min_value <= value <= self.max_value:
            self.fail("invalid", min_value=self.min_value, max_value=self.max_value)
        return value


class StrictDecimalField(serializers.Field):
    """A decimal sent as a JSON string or number (parsed as Decimal by ``DecimalJSONParser``), rendered as
    a string. Booleans, floats, arrays, objects, NaN and Infinity are refused.

    ``schema`` states the normaliser's rule for the OpenAPI document, as ``StrictCharField``'s does."""

    default_error_messages = {
        "invalid": "Must be a decimal number (ASCII digits, at most 64 characters), sent as a string or a JSON "
                   "number.",
        "non_finite": "Must be a finite number.",
    }

    def __init__(self, *, normalize: Callable[[Decimal], Decimal] | None = None,
                 schema: dict | Callable[[], dict] | None = None, **kwargs):
        self.normalize = normalize
        self.declared_schema = schema
        super().__init__(**kwargs)

    def openapi_schema(self, direction: str = "request") -> dict:
        """Rendered, a decimal string; received, ``parse_ascii_decimal``'s text or any JSON number — or the
        narrower rule declared with ``schema``."""
        if direction != "request":
            return dict(DECIMAL_SCHEMA)
        declared = self.declared_schema() if callable(self.declared_schema) else self.declared_schema
        return declared or {"anyOf": [{**DECIMAL_SCHEMA, "pattern": DECIMAL_TEXT_PATTERN,
                                       "maxLength": MAX_DECIMAL_LENGTH}, {"type": "number"}]}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (str, int, Decimal)):
            self.fail("invalid")
        if isinstance(data, str):
            if is_non_finite(data):
                self.fail("non_finite")
            try:
                data = parse_ascii_decimal(data)
            except (ValueError, InvalidOperation):
                self.fail("invalid")
        elif isinstance(data, int):
            data = Decimal(data)
        if not data.is_finite():
            self.fail("non_finite")
        return _apply(self.normalize, data)

    def to_representation(self, value):
        return None if value is None else format(value, "f")


_READ_ONLY = ("This field is read-only.",)
_UNKNOWN = ("Unknown field.",)


class StrictInputSerializer(serializers.Serializer):
    """Refuses a body that is not an object, and every field it does not accept (read-only or unknown)."""

    # Every field it does not accept is named, and a 64 KiB body holds some 8000 keys: they are reported with
    # the product's own ValidationFailed and two shared messages, because DRF's ValidationError rebuilds an
    # ErrorDetail per key three times on its way out (CPU that grows with the keys, mostly garbage collection).
    read_only_names: tuple[str, ...] = ()
    # What the whole body must be that its fields cannot say (``minProperties``, a rule across fields as
    # ``anyOf``), for the OpenAPI document; every request schema of one also says ``additionalProperties:
    # false``. Stated next to the ``validate`` (or the service rule) that enforces it.
    body_schema: dict = {}

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
        writable = {name for name, field in self.fields.items() if not field.read_only}
        errors = {}
        for name in data:
            if name in writable:
                continue
            errors[field_label(name)] = _READ_ONLY if name in self.read_only_names else _UNKNOWN
        if errors:
            raise ValidationFailed(details=errors)
        return super().to_internal_value(data)
