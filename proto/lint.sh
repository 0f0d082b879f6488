#!/usr/bin/env bash
# Lints the .proto sources: buf lint (rules in buf.yaml: STANDARD + COMMENTS,
# which includes PROTOVALIDATE, so a CEL rule that does not compile fails
# here) and buf format (fix with: buf format -w . --path rollcall). The
# third_party/ module is exempt from both. buf is the version pinned in
# tools/go.mod.
set -euo pipefail

proto_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools_dir="$(cd "${proto_dir}/../tools" && pwd)"
export GOWORK=off

cd "${proto_dir}"
buf() { go tool -modfile="${tools_dir}/go.mod" buf "$@"; }
buf lint
buf format --diff --exit-code . --path rollcall
