-- +goose Up
-- The partner registry (seed 003: "the system checks that the email belongs
-- to a certified partner"). Only verified addresses and domains are stored:
-- registering them is the operator's statement that they were verified.
CREATE TABLE partners (
    id            uuid        PRIMARY KEY,
    name          text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    registered_at timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoke_note   text        NOT NULL DEFAULT ''
);

-- A partner's verified email addresses and domains, lowercase. One address
-- or domain belongs to at most one registered partner, so a check has one
-- answer; a revoked partner's rows are kept (revoked = true) for the record.
CREATE TABLE partner_addresses (
    partner_id uuid    NOT NULL REFERENCES partners (id),
    kind       text    NOT NULL CHECK (kind IN ('email', 'domain')),
    value      text    NOT NULL CHECK (value = lower(value) AND length(value) BETWEEN 1 AND 254),
    revoked    boolean NOT NULL DEFAULT false,
    PRIMARY KEY (partner_id, kind, value)
);
CREATE UNIQUE INDEX partner_addresses_live ON partner_addresses (kind, value) WHERE NOT revoked;

-- One row per tenant that ever had an integrator event or a policy. Every
-- change to a tenant's integrators locks this row first (SELECT ... FOR
-- UPDATE), so concurrent accepts, invitations, dismissals and policy changes
-- of one tenant run one after the other and the limit holds.
CREATE TABLE integrator_tenants (
    tenant_id     uuid        PRIMARY KEY,
    max_active    integer     NOT NULL DEFAULT 1 CHECK (max_active BETWEEN 1 AND 10),
    overflow_mode smallint    NOT NULL DEFAULT 1 CHECK (overflow_mode IN (1, 2)),
    updated_at    timestamptz,
    updated_by    text        NOT NULL DEFAULT ''
);

-- Integrator invitations seen (invitation.v1.UserInvited of kind
-- INTEGRATOR): when each was made decides which of two accepted invitations
-- wins ("the newer invitation wins").
CREATE TABLE integrator_invitations (
    tenant_id     uuid        NOT NULL,
    invitation_id uuid        NOT NULL,
    partner_id    uuid        NOT NULL,
    email         text        NOT NULL,
    invited_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, invitation_id)
);

-- A tenant's integrators, one row per accepted invitation: active, waiting
-- (over the limit when the admin chooses), or ended (replaced, dismissed,
-- superseded).
CREATE TABLE integrators (
    tenant_id     uuid        NOT NULL,
    invitation_id uuid        NOT NULL,
    user_id       uuid        NOT NULL,
    partner_id    uuid        NOT NULL,
    email         text        NOT NULL,
    state         text        NOT NULL CHECK (state IN ('active', 'waiting', 'replaced', 'dismissed', 'superseded')),
    invited_at    timestamptz NOT NULL,
    since         timestamptz NOT NULL,
    ended_at      timestamptz,
    end_reason    smallint    NOT NULL DEFAULT 0,
    ended_by      text        NOT NULL DEFAULT '',
    note          text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, invitation_id)
);
-- A user is at most once a current integrator of a tenant.
CREATE UNIQUE INDEX integrators_current_user ON integrators (tenant_id, user_id) WHERE state IN ('active', 'waiting');
-- Decisions look up the actor's latest record.
CREATE INDEX integrators_user ON integrators (tenant_id, user_id, since DESC);
-- Revoking a partner finds its current integrators in every tenant.
CREATE INDEX integrators_partner_current ON integrators (partner_id) WHERE state IN ('active', 'waiting');

-- +goose Down
DROP TABLE integrators;
DROP TABLE integrator_invitations;
DROP TABLE integrator_tenants;
DROP TABLE partner_addresses;
DROP TABLE partners;
