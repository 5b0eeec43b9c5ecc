#!/bin/sh
# Temporal's databases on PostgreSQL (temporalio/admin-tools): create them the first time, then
# bring both schemas up to this image's version. Safe to run again: it is how an upgrade of the
# Temporal images reaches the database. Connection from SQL_HOST/SQL_PORT/SQL_USER/SQL_PASSWORD.
set -eu
schemas=/etc/temporal/schema/postgresql/v12
for database in temporal temporal_visibility; do
  # --quiet: "already exists" on a later run is not an error; update-schema below is the check.
  temporal-sql-tool --quiet --db "$database" create-database
  temporal-sql-tool --quiet --db "$database" setup-schema -v 0.0
done
temporal-sql-tool --db temporal update-schema -d "$schemas/temporal/versioned"
temporal-sql-tool --db temporal_visibility update-schema -d "$schemas/visibility/versioned"
echo "Temporal schemas are up to date"
