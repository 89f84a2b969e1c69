#!/bin/sh
# Writes the secret files docker-compose.production.yml reads into ./secrets, each a
# random 64-hex-digit value; a file that already exists is kept. Run from anywhere:
#   sh deploy/compose/make-secrets.sh
set -eu
cd "$(dirname "$0")/../.."
umask 077
mkdir -p secrets
chmod 700 secrets

random() {
  if [ ! -s "secrets/$1" ]; then
    openssl rand -hex 32 >"secrets/$1"
    echo "wrote secrets/$1"
  fi
}
random postgres_password
random roster_db_password
random bootstrap_token
random metrics_token
random signing_key_secret
if [ ! -s secrets/database_url ]; then
  printf 'postgres://roster:%s@postgres:5432/roster\n' "$(cat secrets/roster_db_password)" >secrets/database_url
  echo "wrote secrets/database_url"
fi

# Compose bind-mounts each file as it is, and the containers read them as their own
# users (postgres, node): the files are readable, the folder is the owner's alone.
chmod 644 secrets/*
