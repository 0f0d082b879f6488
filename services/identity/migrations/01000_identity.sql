-- +goose Up

-- A tenant is a client or portal: the unit of isolation. Every other table
-- carries tenant_id and every query filters on it.
CREATE TABLE tenants (
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    company_code  text NOT NULL,
    language      text NOT NULL,
    seat_limit    integer NOT NULL DEFAULT 0 CHECK (seat_limit >= 0),
    created_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX tenants_company_code ON tenants (lower(company_code));

-- The tenant's structure: organisations, customers, cost centres, companies,
-- levels of the administrative structure (a tree under a company), product
-- categories, applications, permission areas and additional packages. Areas
-- and packages are known by key; the others by id.
CREATE TABLE structure_items (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    kind        text NOT NULL,
    id          uuid NOT NULL,
    key         text,
    name        text NOT NULL,
    parent_id   uuid,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, kind, id)
);
CREATE UNIQUE INDEX structure_items_key ON structure_items (tenant_id, kind, key) WHERE key IS NOT NULL;

-- Users of every kind. The same user id appears in several tenants when an
-- existing profile joins another tenant (one row per membership).
CREATE TABLE users (
    tenant_id            uuid NOT NULL REFERENCES tenants (id),
    id                   uuid NOT NULL,
    kind                 smallint NOT NULL,
    origin               smallint NOT NULL,
    status               text NOT NULL,
    role                 smallint NOT NULL,
    first_name           text NOT NULL DEFAULT '',
    last_name            text NOT NULL DEFAULT '',
    email                text NOT NULL DEFAULT '',
    mobile               text NOT NULL DEFAULT '',
    grants               jsonb,
    integrator           boolean NOT NULL DEFAULT false,
    partner_id           uuid,
    counts_seat          boolean NOT NULL DEFAULT false,
    sponsor_user_id      uuid,
    needs_sponsor        boolean NOT NULL DEFAULT false,
    source_invitation_id uuid,
    login_method         smallint NOT NULL DEFAULT 0,
    external_subject     text NOT NULL DEFAULT '',
    password_hash        text NOT NULL DEFAULT '',
    -- service users (seed 002)
    user_code            text,
    application_id       uuid,
    su_status            smallint NOT NULL DEFAULT 0,
    language             text NOT NULL DEFAULT '',
    all_companies        boolean NOT NULL DEFAULT false,
    company_ids          uuid[] NOT NULL DEFAULT '{}',
    all_structure        boolean NOT NULL DEFAULT false,
    structure_level_ids  uuid[] NOT NULL DEFAULT '{}',
    created_by_user_id   uuid,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    deactivated_at       timestamptz,
    version              bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX users_user_code ON users (tenant_id, lower(user_code)) WHERE user_code IS NOT NULL;
CREATE INDEX users_sponsor ON users (tenant_id, sponsor_user_id) WHERE sponsor_user_id IS NOT NULL;
CREATE INDEX users_external_subject ON users (tenant_id, external_subject) WHERE external_subject <> '';
CREATE INDEX users_email ON users (tenant_id, lower(email));
CREATE INDEX users_list ON users (tenant_id, last_name, first_name, id);

-- Bearer tokens (admin API, and the API tokens service users get from
-- IssueServiceToken), stored as SHA-256 only.
CREATE TABLE access_tokens (
    id          uuid PRIMARY KEY,
    hash        bytea NOT NULL UNIQUE,
    tenant_id   uuid NOT NULL,
    user_id     uuid NOT NULL,
    purpose     text NOT NULL,
    label       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX access_tokens_user ON access_tokens (tenant_id, user_id);

-- Passwords chosen through an integration invitation before identity has the
-- user (SetInitialPassword); they become the user's password when
-- InviteAccepted for that invitation creates the user.
CREATE TABLE pending_credentials (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    user_id        uuid NOT NULL,
    invitation_id  uuid NOT NULL,
    password_hash  text NOT NULL,
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id, invitation_id)
);

-- Login assertions already used (single use); pruned after they expire.
CREATE TABLE used_assertions (
    nonce       text PRIMARY KEY,
    expires_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE used_assertions;
DROP TABLE pending_credentials;
DROP TABLE access_tokens;
DROP TABLE users;
DROP TABLE structure_items;
DROP TABLE tenants;
