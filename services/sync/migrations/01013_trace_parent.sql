-- +goose Up

-- The W3C traceparent of the newest HR change merged into the employee's
-- pending state (the consumer span that took it in). The propagation that
-- writes the state to the ERP continues that trace, so an operator follows
-- one FieldChanged from its publisher through sync to the ERP's HTTP call in
-- Jaeger. Changes coalesced into the same write are in other traces; the
-- newest one's is the one continued.
ALTER TABLE employees ADD COLUMN trace_parent text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE employees DROP COLUMN trace_parent;
