"""The tables, declared once (SQLAlchemy Core): migrations create them, code reads them.

Signals are kept on the entry as JSON rather than one row each: an import writes one
row per entry (measured: three times the speed of a signals table on SQLite), and
matching never searches the database — it searches compiled indexes (``vigil.index``)
that are rebuilt when a list's ``content_version`` changes. The derived windows of a
media-backed entry (100-250 a photo) are packed into one binary value beside them
(``vigil.store.windows``: 38 bytes a window, where a JSON item took 115 in SQLite).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = ["metadata", "lists", "imports", "entries", "api_keys", "service_jobs", "match_events", "users",
           "review_items", "audit", "webhooks", "webhook_deliveries"]

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

# SQLite's rowid alias must be declared INTEGER; elsewhere entries may pass 2^31.
_BigPk = BigInteger().with_variant(Integer(), "sqlite")

lists = Table(
    "lists", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("source", String(200), nullable=True),
    Column("kind", String(10), nullable=False),  # "block" or "allow"
    Column("settings", Text, nullable=False),  # JSON: thresholds that differ from the defaults
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Bumped whenever a matchable signal of the list is added or changed (not on revocation:
    # revoked entries are filtered when a match is resolved, so they stop matching at once).
    Column("content_version", Integer, nullable=False),
)

imports = Table(
    "imports", metadata,
    Column("id", Integer, primary_key=True),
    Column("list_id", Integer, ForeignKey("lists.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("action", String(20), nullable=False),  # import, add-media, revoke
    Column("format", String(40), nullable=True),
    Column("file_name", Text, nullable=True),
    Column("file_sha256", String(64), nullable=True),
    Column("file_size", BigInteger, nullable=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("added", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("revoked", Integer, nullable=False, default=0),
    Column("notes", Text, nullable=True),  # JSON: what was skipped on purpose, and why
    # The list's content version once this change committed (lists.segments: what changed since an index).
    Column("version_after", Integer, nullable=True),
)

entries = Table(
    "entries", metadata,
    Column("pk", _BigPk, primary_key=True, autoincrement=True),
    Column("list_id", Integer, ForeignKey("lists.id", ondelete="CASCADE"), nullable=False),
    Column("entry_id", Text, nullable=False),
    Column("category", Text, nullable=True),
    Column("category_scheme", String(100), nullable=True),
    Column("meta", Text, nullable=False),  # JSON object, the source's free metadata
    Column("signals", Text, nullable=False),  # JSON list of [type, value, quality?, derived?]
    Column("windows", LargeBinary, nullable=True),  # derived windows, packed (store.windows); NULL: none
    Column("content_hash", String(40), nullable=False),  # sha1 of the canonical content: unchanged → skip
    Column("revoked", Boolean, nullable=False),
    Column("first_import_id", Integer, ForeignKey("imports.id"), nullable=False),
    Column("last_import_id", Integer, ForeignKey("imports.id"), nullable=False),
    UniqueConstraint("list_id", "entry_id"),
)
Index("ix_entries_last_import_id", entries.c.last_import_id)
# Reading a list in insertion order (compiling its index, exporting) walks this index.
Index("ix_entries_list_id_pk", entries.c.list_id, entries.c.pk)

# The match service's keys (``vigil.serve``; migrations branch "serve"): only each key's SHA-256.
api_keys = Table(
    "api_keys", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, index=True),
    Column("role", String(20), nullable=False),  # matcher, curator, reviewer, admin
    Column("key_sha256", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),  # the key's first characters, to tell keys apart
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

# The service's background jobs (list imports over HTTP): state and progress, read by any worker.
service_jobs = Table(
    "service_jobs", metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(20), nullable=False),  # "import"
    Column("list_name", String(200), nullable=False),
    Column("key_name", String(200), nullable=True),  # the key that asked for it
    Column("state", String(10), nullable=False),  # queued, running, done, failed
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("heartbeat_at", DateTime(timezone=True), nullable=True),  # a running job's last sign of life
    Column("runner", String(300), nullable=True),  # "host pid" of the worker that runs it
    Column("bytes_done", BigInteger, nullable=False),
    Column("bytes_total", BigInteger, nullable=False),
    Column("entries", Integer, nullable=False),
    Column("result", Text, nullable=True),  # JSON: what the import added, updated, revoked, skipped
    Column("error", Text, nullable=True),
)

# The service's match events: every lookup or upload that matched (the review desk works from these).
match_events = Table(
    "match_events", metadata,
    Column("id", _BigPk, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("source", String(20), nullable=False),  # lookup, match (an upload)
    Column("key_name", String(200), nullable=True),  # the key that asked (its name, never the key)
    Column("list_name", String(200), nullable=False),
    Column("entry_id", Text, nullable=False),
    Column("signal", String(20), nullable=False),
    Column("distance", Integer, nullable=False),
    Column("variant", String(100), nullable=False),
    Column("category", Text, nullable=True),
    Column("query", Text, nullable=False),  # JSON: the query's hashes (a lookup's signal; an upload's signals)
    Column("content_id", String(200), nullable=True),  # the client's id for what it checked
    Column("metadata", Text, nullable=True),  # JSON object the client sent
    Column("item_id", Integer, nullable=True, index=True),  # the review item it counts towards
)
Index("ix_match_events_list_name_entry_id", match_events.c.list_name, match_events.c.entry_id)

# The people who sign in to the review desk (``vigil.serve.users``; branch "serve"): argon2id hashes only.
users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(20), nullable=False),  # reviewer, admin
    Column("password_hash", String(200), nullable=False),  # argon2id, with its parameters and salt
    Column("totp_secret", String(64), nullable=True),  # base32, once enrolled
    Column("totp_required", Boolean, nullable=False),
    Column("totp_last_step", BigInteger, nullable=True),  # the 30-second step of the last code used
    Column("failures", Integer, nullable=False),  # failed sign-ins since the last good one
    Column("locked_until", DateTime(timezone=True), nullable=True),  # no try is heard before this
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True), nullable=True),
    Column("last_sign_in_at", DateTime(timezone=True), nullable=True),
)

# The review desk's queue (``vigil.serve.queue``): one item per content that matched (a thousand uploads
# of one file are one item), in the order a reviewer takes them.
review_items = Table(
    "review_items", metadata,
    Column("id", Integer, primary_key=True),
    Column("content_key", String(200), nullable=False, unique=True),  # "sha256:…", "pdq:…": what matched
    Column("state", String(12), nullable=False),  # pending, escalated, confirmed, rejected
    Column("events", Integer, nullable=False),  # match events counted towards it
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("best_distance", Integer, nullable=False),
    Column("category_order", String(200), nullable=False),  # the most severe category matched; "~": none
    Column("claimed_by", String(200), nullable=True),
    Column("claimed_until", DateTime(timezone=True), nullable=True),
    Column("decided_by", String(200), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("note", Text, nullable=True),
    Column("first_confirmed_by", String(200), nullable=True),  # the first of two (the two-person rule)
)
Index("ix_review_items_queue", review_items.c.state,
      review_items.c.category_order, review_items.c.best_distance, review_items.c.first_seen, review_items.c.id)

# The service's audit log: a hash-chained, append-only custody log (``vigil.evidence.custody``, which
# writes it with plain SQL and makes its triggers; ``vigil.serve.audit``).
audit = Table(
    "audit", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", Text, nullable=False),
    Column("event", Text, nullable=False),
    Column("data", Text, nullable=False),  # JSON object
    Column("prev", Text, nullable=False),  # the previous entry's hash
    Column("hash", Text, nullable=False),  # sha256 of prev, seq, at, event, data
)

# The review desk's webhooks (``vigil.serve.webhooks``): where decisions are sent, and the outbox.
webhooks = Table(
    "webhooks", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("url", Text, nullable=False),
    Column("secret", String(100), nullable=False),  # signs each request (HMAC-SHA256); shown once
    Column("events", Text, nullable=False),  # JSON list of the events it wants
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True), nullable=True),
)

webhook_deliveries = Table(
    "webhook_deliveries", metadata,
    Column("id", _BigPk, primary_key=True, autoincrement=True),
    Column("webhook_id", Integer, nullable=False),
    Column("event", String(40), nullable=False),
    Column("payload", Text, nullable=False),  # JSON: {"event", "at", "data"}
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("state", String(10), nullable=False),  # pending, delivered, dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),  # also the lease of one being sent
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
)
Index("ix_webhook_deliveries_state_next_attempt_at", webhook_deliveries.c.state, webhook_deliveries.c.next_attempt_at)
