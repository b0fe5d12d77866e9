"""SQL expression builders shared by the loaders (strict parsing of text values in DuckDB).

DuckDB's casts are lenient in ways that would mis-parse data silently (``'5/1/25'`` casts to a
timestamp in year 5, ``'12.5'`` casts to BIGINT 13), so text is matched against a strict pattern
before it is cast."""

from __future__ import annotations

# ISO 8601 date or date-time, with 'T' or ' ', optional fraction, optional Z / offset. RFC 3339
# allows lower-case 't' and 'z' (section 5.6): accepted, and upper-cased before the cast.
TS_PATTERN = (
    r"\d{4}-\d{2}-\d{2}([ Tt]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?"
    r"(Z|z|[+-]\d{2}(:?\d{2})?)?"
)
# Plain decimal or E-notation; no thousands separators, no currency symbols.
DEC_PATTERN = r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"
INT_PATTERN = r"[+-]?\d+(\.0*)?"


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def ts_parse(expr: str) -> str:
    """Text -> TIMESTAMP (UTC), NULL unless the text is an ISO 8601 date/date-time.
    A value without offset is UTC."""
    return (
        f"(case when regexp_full_match(trim({expr}), {lit(TS_PATTERN)}) "
        f"then timezone('UTC', try_cast(upper(trim({expr})) as timestamptz)) end)"
    )


def dec_parse(expr: str, typ: str) -> str:
    """Text -> DECIMAL ``typ``, NULL unless it is a plain decimal number."""
    return (
        f"(case when regexp_full_match(trim({expr}), {lit(DEC_PATTERN)}) "
        f"then try_cast(trim({expr}) as {typ}) end)"
    )


def dec_scale(expr: str) -> str:
    """Text of a decimal (``DEC_PATTERN``) -> the number of decimal places its exact value needs
    (``1.2300`` -> 2, ``5e-13`` -> 13, ``100e-2`` -> 0). Used to refuse a value that a cast to a
    smaller scale would round."""
    t = f"trim({expr})"
    frac = f"regexp_extract({t}, '\\.([0-9]*)', 1)"
    digits = f"(regexp_extract({t}, '^[+-]?([0-9]*)', 1) || {frac})"
    exp_txt = f"regexp_extract({t}, '[eE]([+-]?[0-9]+)$', 1)"
    exp = (
        f"(case when {exp_txt} = '' then 0 else coalesce(try_cast({exp_txt} as bigint), "
        f"case when starts_with({exp_txt}, '-') then -1000000000 else 1000000000 end) end)"
    )
    zeros = f"(length({digits}) - length(rtrim({digits}, '0')))"
    return f"greatest(0, length({frac}) - {exp} - {zeros})"


def excess_scale(expr: str, scale: int) -> str:
    """SQL predicate: ``expr`` is a decimal with more than ``scale`` decimal places."""
    return (
        f"coalesce(regexp_full_match(trim({expr}), {lit(DEC_PATTERN)}) "
        f"and {dec_scale(expr)} > {scale}, false)"
    )


def type_scale(typ: str) -> int | None:
    """The scale of ``DECIMAL(p,s)``, else None."""
    t = typ.replace(" ", "").upper()
    if t.startswith("DECIMAL(") and "," in t:
        return int(t[t.index(",") + 1 : -1])
    return None


def int_parse(expr: str) -> str:
    """Text -> BIGINT, NULL unless it is an integer (``10`` or ``10.0``, never ``12.5``)."""
    return (
        f"(case when regexp_full_match(trim({expr}), {lit(INT_PATTERN)}) "
        f"then try_cast(try_cast(trim({expr}) as decimal(38, 9)) as bigint) end)"
    )


def typed_parse(expr: str, typ: str) -> str:
    """Text -> a column type of the warehouse DDL (BIGINT, DECIMAL(..), TIMESTAMP, VARCHAR)."""
    t = typ.upper()
    if t == "BIGINT":
        return int_parse(expr)
    if t.startswith("DECIMAL"):
        return dec_parse(expr, typ)
    if t == "TIMESTAMP":
        return ts_parse(expr)
    if t == "BOOLEAN":
        return f"(case upper(trim({expr})) when 'TRUE' then true when 'FALSE' then false end)"
    return expr
