-- +goose Up
-- HR-to-ERP connections created by an admin (seed 004, steps 1-2). The ERP
-- API key is kept only sealed (AES-256-GCM, keyring package): key_sealed is
-- the nonce and ciphertext, key_version the keyring version that sealed it,
-- bound to the tenant and the connection. One connection per tenant
-- (company_id NULL) or one per company of the tenant; the store refuses a
-- mix of the two under a per-tenant lock.
CREATE TABLE connections (
    id                     uuid        PRIMARY KEY,
    tenant_id              uuid        NOT NULL,
    company_id             uuid,
    erp_system             text        NOT NULL CHECK (erp_system IN ('24sevenoffice')),
    status                 text        NOT NULL CHECK (status IN ('pending_first_sync', 'active', 'disabled')),
    key_version            integer     NOT NULL CHECK (key_version > 0),
    key_sealed             bytea       NOT NULL,
    authority_confirmed_by uuid        NOT NULL,
    authority_confirmed_at timestamptz NOT NULL,
    key_rotated_at         timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX connections_per_tenant ON connections (tenant_id) WHERE company_id IS NULL;
CREATE UNIQUE INDEX connections_per_company ON connections (tenant_id, company_id) WHERE company_id IS NOT NULL;

-- A comparison of both sides an admin decides on (the first sync or a
-- manual "synchronize users"). The items keep both records as they were
-- read, so a run applies the decisions to what the admin saw, and plans
-- exactly the same after a crash.
CREATE TABLE sync_previews (
    id            uuid        PRIMARY KEY,
    tenant_id     uuid        NOT NULL,
    connection_id uuid        NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    kind          text        NOT NULL CHECK (kind IN ('first_sync', 'manual')),
    created_by    uuid        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    totals        jsonb       NOT NULL,
    violations    jsonb       NOT NULL,
    items         integer     NOT NULL
);
CREATE INDEX sync_previews_connection ON sync_previews (connection_id, created_at);

-- data: both records in the store's compact binary form (postgres/codec.go).
CREATE TABLE sync_preview_items (
    preview_id uuid     NOT NULL REFERENCES sync_previews (id) ON DELETE CASCADE,
    seq        integer  NOT NULL,
    kind       smallint NOT NULL,
    flags      smallint NOT NULL,
    data       bytea    NOT NULL,
    PRIMARY KEY (preview_id, seq)
);

-- A run applying the admin's decisions to a preview. One unfinished run per
-- connection. The executor that works on it holds a lease (lease_owner,
-- lease_until); a crashed one's lease runs out and another resumes it.
CREATE TABLE sync_runs (
    id                 uuid        PRIMARY KEY,
    tenant_id          uuid        NOT NULL,
    connection_id      uuid        NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    preview_id         uuid        NOT NULL UNIQUE REFERENCES sync_previews (id) ON DELETE CASCADE,
    kind               text        NOT NULL CHECK (kind IN ('first_sync', 'manual')),
    status             text        NOT NULL CHECK (status IN ('awaiting_confirmation', 'running', 'reporting',
                                                              'succeeded', 'partially_failed', 'failed', 'cancelled')),
    outcome            text        CHECK (outcome IN ('succeeded', 'partially_failed', 'failed')),
    decisions          jsonb       NOT NULL,
    recipients         text[]      NOT NULL,
    started_by         uuid        NOT NULL,
    started_at         timestamptz NOT NULL DEFAULT now(),
    completed_at       timestamptz,
    total              integer     NOT NULL,
    done               integer     NOT NULL DEFAULT 0,
    created_in_erp     integer     NOT NULL DEFAULT 0,
    created_in_hr      integer     NOT NULL DEFAULT 0,
    updated_in_erp     integer     NOT NULL DEFAULT 0,
    updated_in_hr      integer     NOT NULL DEFAULT 0,
    conflicts          integer     NOT NULL DEFAULT 0,
    unchanged          integer     NOT NULL DEFAULT 0,
    failed             integer     NOT NULL DEFAULT 0,
    skipped            integer     NOT NULL DEFAULT 0,
    affected           integer     NOT NULL,
    threshold_total    integer     NOT NULL,
    threshold_percent  integer     NOT NULL,
    confirmed_by       uuid,
    error              text        NOT NULL DEFAULT '',
    report_sent_at     timestamptz,
    report_error       text        NOT NULL DEFAULT '',
    lease_owner        text,
    lease_until        timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX sync_runs_one_unfinished ON sync_runs (connection_id)
    WHERE status IN ('awaiting_confirmation', 'running', 'reporting');
CREATE INDEX sync_runs_to_work ON sync_runs (started_at) WHERE status IN ('running', 'reporting');

-- The employees a run writes something for, and how each ended. A pending
-- item is redone after a crash: its writes compare first, so nothing lands
-- twice.
CREATE TABLE sync_run_items (
    run_id  uuid    NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    seq     integer NOT NULL,
    state   text    NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    outcome jsonb,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX sync_run_items_pending ON sync_run_items (run_id, seq) WHERE state = 'pending';
CREATE INDEX sync_run_items_failed ON sync_run_items (run_id, seq) WHERE state = 'failed';

-- The propagator leases only employees whose connection is active (or a
-- configured one without a row); this finds the held ones on activation.
CREATE INDEX employees_connection ON employees (connection_id);

-- +goose Down
DROP INDEX employees_connection;
DROP TABLE sync_run_items;
DROP TABLE sync_runs;
DROP TABLE sync_preview_items;
DROP TABLE sync_previews;
DROP TABLE connections;
