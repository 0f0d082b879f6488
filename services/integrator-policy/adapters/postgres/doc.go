// Package postgres is the integrator-policy service's store: the partner
// registry and each tenant's policy and integrators, with their events
// written to the outbox in the same transaction (validated against their
// contracts first). Every change to a tenant's integrators locks the
// tenant's row, which is what keeps the limit under concurrency.
package postgres
