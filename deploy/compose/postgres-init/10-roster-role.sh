#!/bin/bash
# Run once by the postgres image's entrypoint, when the data volume is new: creates the
# role Roster connects as (no superuser, no CREATEDB, no CREATEROLE) and its database,
# owned by that role, so Roster's migrations can create its tables and nothing more.
# The password is the secret roster_db_password; secrets/database_url must carry it too.
set -euo pipefail

password="$(cat /run/secrets/roster_db_password)"
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  --set=password="$password" <<'SQL'
CREATE ROLE roster LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'password';
CREATE DATABASE roster OWNER roster;
REVOKE ALL ON DATABASE roster FROM PUBLIC;
SQL
echo "roster-init: role and database \"roster\" created"
