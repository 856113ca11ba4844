"""Chinese identifiers: the unified social credit code (GB 32100-2015) and HJ 608 permit numbers.

The Python functions serve the sample generator and single checks; bulk validation runs the same
arithmetic in SQL (``CREDIT_CODE_SQL_MACRO``) so it stays vectorised inside DuckDB.
"""
from __future__ import annotations

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {ch: i for i, ch in enumerate(CREDIT_ALPHABET)}


def credit_check_char(first17: str) -> str:
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(code: str | None) -> bool:
    if not code or len(code) != 18 or any(ch not in _VALUE for ch in code):
        return False
    return credit_check_char(code[:17]) == code[17]


# DuckDB macro: TRUE when ``code`` is a valid credit code. Written with list functions so one
# statement validates a whole column. Temporary: it lives with the connection, not in the warehouse.
CREDIT_CODE_SQL_MACRO = f"""
CREATE OR REPLACE TEMP MACRO is_valid_credit_code(code) AS (
    code IS NOT NULL AND length(code) = 18
    AND regexp_full_match(code, '[{CREDIT_ALPHABET}]{{18}}')
    AND substr(code, 18, 1) = substr('{CREDIT_ALPHABET}',
        ((31 - list_sum(list_transform(range(17), i ->
            (strpos('{CREDIT_ALPHABET}', substr(code, i + 1, 1)) - 1)
            * {list(CREDIT_WEIGHTS)}[i + 1])) % 31) % 31)::INTEGER + 1, 1)
)
"""
