#!/bin/sh
# Creates one database and one login role per Rollcall service, each role
# owning only its own database (no CONNECT for anyone else). The postgres
# image runs this once, when its data volume is empty
# (/docker-entrypoint-initdb.d); it is also safe to run again.
#
# Environment: <SERVICE>_DB_PASSWORD for each service (INVITATION,
# IDENTITY, INTEGRATOR_POLICY, SYNC); ROLLCALL_DB_PREFIX (default rollcall_)
# prefixes every database and role name; POSTGRES_USER / POSTGRES_DB (set by
# the image) or PGHOST/PGUSER/... say where to connect.
set -eu

prefix="${ROLLCALL_DB_PREFIX:-rollcall_}"

for service in invitation identity integrator_policy sync; do
	var="$(echo "$service" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
	eval "password=\${$var:-}"
	if [ -z "$password" ]; then
		echo "init-databases: $var is not set" >&2
		exit 1
	fi
	name="$prefix$service"
	# psql's :"name" and :'password' quote the values, so a password is
	# never spliced into SQL text.
	psql -v ON_ERROR_STOP=1 --no-psqlrc -q \
		--username "${POSTGRES_USER:-${PGUSER:-postgres}}" --dbname "${POSTGRES_DB:-${PGDATABASE:-postgres}}" \
		-v name="$name" -v password="$password" <<-'SQL'
		SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'name') AS create_role \gset
		\if :create_role
		CREATE ROLE :"name" LOGIN PASSWORD :'password';
		\else
		ALTER ROLE :"name" LOGIN PASSWORD :'password';
		\endif
		SELECT NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'name') AS create_db \gset
		\if :create_db
		CREATE DATABASE :"name" OWNER :"name";
		\endif
		REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
		GRANT ALL ON DATABASE :"name" TO :"name";
	SQL
	echo "init-databases: database $name (owner $name)"
done
