-- Risk management (equity tracking). Trackers are MetaApi tracker documents per account; the
-- risk engine's resume state rides along so statistics continue after a restart.
CREATE TABLE risk_trackers (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    name       TEXT NOT NULL,
    -- The tracker as created (MetaApi NewTracker JSON, name included).
    doc        TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    -- The engine's current-period state (JSON), absent before the tracker started.
    state      TEXT
) STRICT;
CREATE UNIQUE INDEX risk_trackers_by_name ON risk_trackers(account_id, name);

-- The last tracker-event sequence number given out per user: numbers are never reused.
CREATE TABLE risk_event_sequences (
    user_id  TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL
) STRICT;

-- Tracker events (threshold exceeded, with the action taken). `broker_time` is the event's
-- `YYYY-MM-DD HH:mm:ss.SSS` on the trade server's clock, which sorts as text.
CREATE TABLE risk_events (
    user_id     TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    account_id  TEXT NOT NULL,
    tracker_id  TEXT NOT NULL,
    broker_time TEXT NOT NULL,
    doc         TEXT NOT NULL,
    PRIMARY KEY (user_id, seq)
) STRICT;
CREATE INDEX risk_events_by_time ON risk_events(user_id, broker_time);

-- Completed tracker periods (period statistics JSON), for the statistics API's history.
CREATE TABLE risk_periods (
    tracker_id TEXT NOT NULL,
    start_ms   INTEGER NOT NULL,
    doc        TEXT NOT NULL,
    PRIMARY KEY (tracker_id, start_ms)
) STRICT;

-- Completed hours of an account's equity chart (chart item JSON).
CREATE TABLE risk_chart (
    account_id TEXT NOT NULL,
    start_ms   INTEGER NOT NULL,
    doc        TEXT NOT NULL,
    PRIMARY KEY (account_id, start_ms)
) STRICT;

-- Per-account engine state: last snapshot, chart hour in progress, deals consumed (JSON).
CREATE TABLE risk_accounts (
    account_id TEXT PRIMARY KEY,
    state      TEXT NOT NULL
) STRICT;

-- What belongs to a removed tracker or account goes with it.
CREATE TRIGGER risk_tracker_removed AFTER DELETE ON risk_trackers BEGIN
    DELETE FROM risk_periods WHERE tracker_id = OLD.id;
END;
CREATE TRIGGER risk_account_removed AFTER DELETE ON accounts BEGIN
    DELETE FROM risk_accounts WHERE account_id = OLD.id;
    DELETE FROM risk_chart WHERE account_id = OLD.id;
END;
