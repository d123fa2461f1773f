#!/bin/sh
# Run once by the postgres image when its data volume is created (docker-compose.yml): lets the
# optional `postgres-replica` service stream WAL with the database user's password. On a volume
# created before this file existed, add the same line to pg_hba.conf and reload.
set -e
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
