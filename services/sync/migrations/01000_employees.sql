-- +goose Up
-- One row per HR employee the sync service has heard of (seed 004, real-time
-- HR -> ERP). hr is the merged HR state (domain.HRState: every field with the
-- HR version that set it). The row is also the employee's work item: status
-- 'pending' or 'retrying' with due_at means "bring the ERP up to hr";
-- change_seq counts changes to hr, synced_seq is the one the ERP reflects,
-- so a change arriving during an ERP call is never lost.
CREATE TABLE employees (
    tenant_id              uuid        NOT NULL,
    employee_id            text        NOT NULL CHECK (employee_id ~ '^[A-Za-z0-9_:-]{1,128}$'),
    connection_id          uuid        NOT NULL,
    hr                     jsonb       NOT NULL,
    hr_version             bigint      NOT NULL CHECK (hr_version > 0),
    change_seq             bigint      NOT NULL DEFAULT 1,
    pending_since          timestamptz,
    erp_employee_id        text,
    synced_version         bigint      NOT NULL DEFAULT 0,
    synced_seq             bigint      NOT NULL DEFAULT 0,
    synced_at              timestamptz,
    provenance             jsonb       NOT NULL DEFAULT '{}',
    identification_left_at timestamptz,
    status                 text        NOT NULL CHECK (status IN ('pending', 'retrying', 'synced', 'waiting', 'failed')),
    due_at                 timestamptz,
    lease_until            timestamptz,
    attempts               integer     NOT NULL DEFAULT 0,
    last_error             jsonb,
    updated_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, employee_id)
);

-- One HR employee per ERP employee and connection.
CREATE UNIQUE INDEX employees_erp_link ON employees (connection_id, erp_employee_id) WHERE erp_employee_id IS NOT NULL;
-- The propagator's queue.
CREATE INDEX employees_due ON employees (due_at) WHERE status IN ('pending', 'retrying');

-- Changes the ERP refused for good (e.g. a duplicate email), with its reason.
-- A newer HR change of the employee tries again by itself.
CREATE TABLE sync_dead_letters (
    id            bigserial   PRIMARY KEY,
    tenant_id     uuid        NOT NULL,
    employee_id   text        NOT NULL,
    connection_id uuid        NOT NULL,
    hr_version    bigint      NOT NULL,
    reason        text        NOT NULL,
    erp_status    integer,
    erp_code      text        NOT NULL DEFAULT '',
    erp_message   text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_dead_letters_employee ON sync_dead_letters (tenant_id, employee_id, id);

-- Webhook deliveries seen (replay protection within the accepted clock skew).
CREATE TABLE webhook_deliveries (
    tenant_id   uuid        NOT NULL,
    delivery_id text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, delivery_id)
);
CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE sync_dead_letters;
DROP TABLE employees;
