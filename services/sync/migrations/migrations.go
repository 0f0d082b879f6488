// Package migrations embeds the sync service's goose migrations (numbered
// from 01000; the platform's outbox and inbox come first).
package migrations

import "embed"

// FS holds the *.sql files.
//
//go:embed *.sql
var FS embed.FS
