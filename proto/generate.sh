#!/usr/bin/env bash
# Regenerates everything generated under proto/:
#   1. third_party/buf/validate/validate.proto, printed from the protovalidate
#      Go package pinned in tools/go.mod (no reachable module ships the .proto);
#   2. gen/, by buf generate (clean: true empties gen/ first).
# Idempotent: running it twice leaves the tree unchanged.
#
# Tools come from pinned Go modules, never from PATH:
#   tools/go.mod             buf, and the protovalidate-proto printer
#   tools/protoc-gen/go.mod  protoc-gen-go, protoc-gen-connect-go
set -euo pipefail

proto_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools_dir="$(cd "${proto_dir}/../tools" && pwd)"
export GOWORK=off

# The printed validate.proto must describe the same protovalidate rules that
# proto/ links at run time; refuse to generate if the two pins have drifted.
pin() { sed -n "s|^[[:space:]]*require[[:space:]]*||; s|^[[:space:]]*buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go \(v[^ ]*\).*|\1|p" "$1"; }
tools_pin="$(pin "${tools_dir}/go.mod")"
proto_pin="$(pin "${proto_dir}/go.mod")"
if [[ -z "${tools_pin}" || "${tools_pin}" != "${proto_pin}" ]]; then
  echo "generate.sh: protovalidate version in tools/go.mod (${tools_pin:-none}) differs from proto/go.mod (${proto_pin:-none})" >&2
  exit 1
fi

go -C "${tools_dir}" run ./cmd/protovalidate-proto \
  -out "${proto_dir}/third_party/buf/validate/validate.proto"

cd "${proto_dir}"
go tool -modfile="${tools_dir}/go.mod" buf generate
