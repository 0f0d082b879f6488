-- +goose Up
-- Invitations (seeds 000, 001, 003). Secrets are stored only as hashes:
-- token_hash = SHA-256 of the 256-bit link token, code_hash = HMAC-SHA-256
-- of the one-time code keyed by the service's code key and the invitation id.
CREATE TABLE invitations (
    tenant_id         uuid        NOT NULL,
    id                uuid        NOT NULL,
    kind              smallint    NOT NULL CHECK (kind BETWEEN 1 AND 3),
    origin            smallint    NOT NULL CHECK (origin BETWEEN 1 AND 2),
    first_name        text        NOT NULL DEFAULT '',
    last_name         text        NOT NULL DEFAULT '',
    email             text        NOT NULL,
    mobile            text        NOT NULL DEFAULT '',
    code_delivery     smallint    NOT NULL CHECK (code_delivery BETWEEN 1 AND 3),
    grants            jsonb       NOT NULL,
    language          text        NOT NULL DEFAULT '',
    partner_id        text        NOT NULL DEFAULT '',
    inviter           jsonb       NOT NULL,
    status            text        NOT NULL CHECK (status IN ('pending', 'accepted', 'expired', 'revoked', 'locked')),
    token_hash        bytea       NOT NULL,
    created_at        timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    lifetime_seconds  integer     NOT NULL CHECK (lifetime_seconds BETWEEN 3600 AND 2592000),
    code_hash         bytea,
    code_expires_at   timestamptz,
    code_attempts     integer     NOT NULL DEFAULT 0,
    code_requests     integer     NOT NULL DEFAULT 0,
    last_code_sent_at timestamptz,
    accepted_at       timestamptz,
    user_id           text        NOT NULL DEFAULT '',
    login_method      smallint    NOT NULL DEFAULT 0,
    external_subject  text        NOT NULL DEFAULT '',
    revoked_at        timestamptz,
    revoke_reason     smallint    NOT NULL DEFAULT 0,
    revoked_by        jsonb,
    superseded_by     text        NOT NULL DEFAULT '',
    version           bigint      NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id)
);

-- The link is looked up by its hash alone (the invitee is not signed in).
CREATE UNIQUE INDEX invitations_token_hash ON invitations (token_hash);
-- Listing by state, newest first, per tenant.
CREATE INDEX invitations_tenant_status ON invitations (tenant_id, status, created_at DESC, id);
-- The sweeper finds live invitations past their lifetime.
CREATE INDEX invitations_live_expiry ON invitations (expires_at) WHERE status IN ('pending', 'locked');

-- Per-tenant invitation settings (lifetime within 1 hour and 30 days).
CREATE TABLE invitation_settings (
    tenant_id        uuid     PRIMARY KEY,
    lifetime_seconds integer  NOT NULL CHECK (lifetime_seconds BETWEEN 3600 AND 2592000)
);

-- +goose Down
DROP TABLE invitation_settings;
DROP TABLE invitations;
