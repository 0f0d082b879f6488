-- +goose Up

-- The W3C traceparent of the request that created the invitation. Every
-- later change of it (open, accept, resend, revoke, expiry) links its span
-- to that trace, so an operator follows the whole invitation in Jaeger from
-- CreateInvitation to identity's UserCreated, across the days between.
ALTER TABLE invitations ADD COLUMN trace_parent text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE invitations DROP COLUMN trace_parent;
