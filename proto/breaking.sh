#!/usr/bin/env bash
# Checks the working tree's .proto files for breaking changes (rules in
# buf.yaml: FILE) against the schema at git ref REF:
#
#   bash proto/breaking.sh REF      e.g. bash proto/breaking.sh origin/main
#
# Run it from anywhere (the Makefile runs it from the repository root).
# REF must exist in the local clone (a branch, tag, remote-tracking ref or
# commit); in CI fetch it first with full history (git fetch origin main), and
# compare a branch against its base, not main against itself.
set -euo pipefail

if [[ $# -ne 1 || -z "$1" ]]; then
  echo "usage: $0 REF   (a git ref that exists locally, e.g. origin/main)" >&2
  exit 2
fi
ref="$1"

proto_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools_dir="$(cd "${proto_dir}/../tools" && pwd)"
repo_root="$(git -C "${proto_dir}" rev-parse --show-toplevel)"
export GOWORK=off

if ! git -C "${repo_root}" rev-parse --verify --quiet "${ref}^{commit}" >/dev/null; then
  echo "breaking.sh: ref ${ref} does not exist in ${repo_root}; fetch it first" >&2
  exit 2
fi

# Before the schema's first commit there is nothing a change could break.
if ! git -C "${repo_root}" cat-file -e "${ref}:proto/buf.yaml" 2>/dev/null; then
  echo "breaking.sh: ${ref} has no proto/buf.yaml; nothing to compare against" >&2
  exit 0
fi

# go tool -modfile needs a module root, so buf runs from proto/; the git
# input names the repository's .git and proto/ as its subdirectory, so both
# sides see the same file paths.
cd "${proto_dir}"
go tool -modfile="${tools_dir}/go.mod" buf breaking . \
  --against "${repo_root}/.git#ref=${ref},subdir=proto"
