package pgdb_test

import (
	"fmt"
	"io/fs"
	"testing/fstest"

	"rollcall.dev/pkg/pgdb"
)

// A service's migrations run after the platform's own (outbox, inbox); the
// service numbers its files from 01000.
func ExampleMigrations() {
	service := fstest.MapFS{
		"01000_invitations.sql": {Data: []byte("-- +goose Up\nCREATE TABLE invitations (id uuid PRIMARY KEY);\n")},
	}
	all, err := pgdb.Migrations(service)
	if err != nil {
		panic(err)
	}
	names, _ := fs.Glob(all, "*.sql")
	for _, n := range names {
		fmt.Println(n)
	}
	// Output:
	// 00001_outbox.sql
	// 00002_inbox.sql
	// 01000_invitations.sql
}
