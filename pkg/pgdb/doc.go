// Package pgdb is how Rollcall services talk to PostgreSQL: a traced pgx pool,
// a transaction helper, and goose migrations embedded in each service binary.
//
// It is not a repository layer: services keep their SQL beside the methods that
// run it, in their own adapters. pgdb only owns connection set-up, the
// transaction boundary and the schema every service shares (the outbox and
// inbox tables, see the outbox and inbox packages).
package pgdb
