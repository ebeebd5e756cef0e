-- Prop-firm rule sets attached to accounts (one per account). `id` names one attachment:
-- replacing the rules gives a new id, so a late state write of the old rules matches nothing.
CREATE TABLE risk_rules (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL UNIQUE REFERENCES accounts(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    -- The attachment as the API answers it: the preset's name (if any) and the rule set.
    doc        TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    -- The engine's progress through the rules (JSON), absent before their first input.
    state      TEXT
) STRICT;
