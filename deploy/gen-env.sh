#!/bin/sh
# Writes .env for docker compose from .env.example: every variable left
# empty there (each one a secret) gets a fresh random value,
# `openssl rand -hex 32` (URL-safe, 64 characters), or for a *_B64 variable
# `openssl rand -base64 32` (a 32-byte key). Settings keep their example
# values.
#
#   deploy/gen-env.sh            # writes ./.env at the repository root
#   deploy/gen-env.sh FILE       # writes FILE
#   FORCE=1 deploy/gen-env.sh    # overwrites an existing file (new secrets:
#                                # existing volumes keep the old passwords)
set -eu

root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/.env}"
if [ -e "$out" ] && [ "${FORCE:-}" != 1 ]; then
	echo "gen-env: $out exists; set FORCE=1 to replace it (Postgres and NATS volumes keep the old passwords)" >&2
	exit 1
fi
umask 077
tmp="$(mktemp "$out.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
while IFS= read -r line || [ -n "$line" ]; do
	case "$line" in
	[A-Z]*_B64=) printf '%s%s\n' "$line" "$(openssl rand -base64 32)" ;;
	[A-Z]*=) printf '%s%s\n' "$line" "$(openssl rand -hex 32)" ;;
	*) printf '%s\n' "$line" ;;
	esac
done <"$root/.env.example" >"$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "gen-env: wrote $out"
