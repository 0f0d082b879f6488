-- +goose Up

-- Join assertions (IssueJoinAssertion): an existing profile's proof, for one
-- invitation (audience), that the invitation service passes to VerifyLogin
-- instead of his bearer token. Stored as SHA-256 only. Single use: verifying
-- deletes the row in the statement that finds it, so of two concurrent
-- verifies only one gets it; expired rows are pruned as new ones are made.
CREATE TABLE join_assertions (
    hash        bytea PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    user_id     uuid NOT NULL,
    -- the bearer token that asked: the assertion dies with it
    token_id    uuid NOT NULL REFERENCES access_tokens (id),
    audience    text NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX join_assertions_expires_at ON join_assertions (expires_at);

-- +goose Down
DROP TABLE join_assertions;
