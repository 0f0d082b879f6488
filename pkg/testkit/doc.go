// Package testkit gives tests real infrastructure: a fresh, migrated
// PostgreSQL database per test (cloned from a template database keyed by the
// migrations' hash, via pgtestdb) on the server at DATABASE_URL, and an
// embedded, version-pinned NATS JetStream server per test on a random port
// with a temporary store.
//
// Without a reachable Postgres, database tests are skipped locally and fail
// when CI=true, so a CI machine missing Postgres cannot go green. It is for
// tests only; nothing in a service binary imports it.
package testkit
