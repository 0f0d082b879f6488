// Package proto is the root of Rollcall's contract module: the .proto sources
// of every event and Connect API under rollcall/, and the Go generated from
// them under gen/ (import rollcall.dev/proto/gen/rollcall/<context>/v1).
//
// This package itself holds no code, only the contract tests that show the
// protovalidate rules doing their job. Regenerate with generate.sh; never edit
// gen/ or third_party/ by hand.
package proto
