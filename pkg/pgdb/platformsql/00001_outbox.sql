-- +goose Up
-- The transactional outbox: an event row is written in the same transaction
-- as the state change it describes, and the relay publishes it afterwards.
CREATE TABLE rollcall_outbox (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id      text        NOT NULL UNIQUE,
    aggregate     text        NOT NULL,
    aggregate_seq bigint      NOT NULL,
    subject       text        NOT NULL,
    event_type    text        NOT NULL,
    source        text        NOT NULL,
    ce_subject    text        NOT NULL DEFAULT '',
    occurred_at   timestamptz NOT NULL,
    headers       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    payload       bytea       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_at  timestamptz,
    attempts      integer     NOT NULL DEFAULT 0,
    last_error    text,
    CONSTRAINT rollcall_outbox_aggregate_seq UNIQUE (aggregate, aggregate_seq)
);

-- The relay only ever reads unpublished rows.
CREATE INDEX rollcall_outbox_unpublished ON rollcall_outbox (id) WHERE published_at IS NULL;
CREATE INDEX rollcall_outbox_published_at ON rollcall_outbox (published_at) WHERE published_at IS NOT NULL;
-- The relay numbers pending events within their aggregate.
CREATE INDEX rollcall_outbox_pending_by_aggregate ON rollcall_outbox (aggregate, id) WHERE published_at IS NULL;

-- One row per aggregate; bumping last_seq takes a row lock held until commit,
-- so events of one aggregate get sequence numbers (and outbox ids) in commit
-- order even when writers race.
CREATE TABLE rollcall_outbox_aggregates (
    aggregate text   PRIMARY KEY,
    last_seq  bigint NOT NULL
);

-- +goose Down
DROP TABLE rollcall_outbox_aggregates;
DROP TABLE rollcall_outbox;
