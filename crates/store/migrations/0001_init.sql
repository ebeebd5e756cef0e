-- Key/value settings the server generates once and keeps (signing secret, sim seed, ...).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_ms INTEGER NOT NULL
) STRICT;

-- API tokens (JWT) and account tokens; only a digest of the secret part is kept.
CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    digest     TEXT NOT NULL,
    access     TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    revoked_ms INTEGER
) STRICT;

-- Provisioned trading accounts: the MetaApi account document, and the broker password
-- encrypted (AES-256-GCM) apart from it.
CREATE TABLE accounts (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users(id),
    doc            TEXT NOT NULL,
    password       BLOB NOT NULL,
    transaction_id TEXT,
    created_ms     INTEGER NOT NULL
) STRICT;
CREATE INDEX accounts_by_user ON accounts(user_id, created_ms);
CREATE UNIQUE INDEX accounts_by_transaction ON accounts(user_id, transaction_id)
    WHERE transaction_id IS NOT NULL;

-- The simulated broker's inputs, in order: replayed at start to rebuild its state exactly.
CREATE TABLE journal (
    seq   INTEGER PRIMARY KEY,
    input TEXT NOT NULL
) STRICT;
