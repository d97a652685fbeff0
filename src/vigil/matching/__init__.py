"""Matching a hashed query against lists: variants, windows, allow-lists and revocation."""

from __future__ import annotations

from .matcher import (
    Match,
    Matcher,
    PdqQuery,
    Query,
    QueryResult,
    iter_hash_queries,
    parse_hash_line,
    query_from_result,
)

__all__ = [
    "Match",
    "Matcher",
    "PdqQuery",
    "Query",
    "QueryResult",
    "iter_hash_queries",
    "parse_hash_line",
    "query_from_result",
]
