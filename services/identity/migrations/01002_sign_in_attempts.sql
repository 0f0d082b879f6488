-- +goose Up

-- Failed password attempts per (tenant, login): the email at SignIn or the
-- user code at IssueServiceToken. Kept in Postgres so the limit holds across
-- every instance of the service. A row exists for any login tried, known or
-- not, so a lock-out tells a guesser nothing about which logins exist; a
-- successful sign-in deletes its row, and stale rows of a tenant are pruned
-- as new attempts come in.
CREATE TABLE sign_in_attempts (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    login_key     text NOT NULL,
    failures      integer NOT NULL,
    window_start  timestamptz NOT NULL,
    locked_until  timestamptz,
    PRIMARY KEY (tenant_id, login_key)
);

-- +goose Down
DROP TABLE sign_in_attempts;
