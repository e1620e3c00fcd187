#!/bin/sh
# Restore a backup made by ops/backup.sh into an EMPTY database and media directory.
# See docs/backup.md ("Restore" and "Restore drill").
#
#   ops/restore.sh BACKUP_PATH
#   DATABASE_URL   the target database, created empty beforehand (required)
#   MEDIA_ROOT     the target media directory, absent or empty (required)
#
# The application then needs the same FIELD_ENCRYPTION_KEYS, FIELD_HASH_KEY and
# SECRET_KEY as the system that was backed up, taken from escrow.
set -eu

backup="${1:?usage: restore.sh BACKUP_PATH}"
: "${DATABASE_URL:?set DATABASE_URL (the empty target database)}"
: "${MEDIA_ROOT:?set MEDIA_ROOT (the target media directory)}"

(cd "$backup" && sha256sum --check --quiet SHA256SUMS)

if [ -d "$MEDIA_ROOT" ] && [ -n "$(ls -A "$MEDIA_ROOT")" ]; then
  echo "restore.sh: $MEDIA_ROOT is not empty" >&2
  exit 1
fi

pg_restore --exit-on-error --single-transaction --no-owner --no-privileges \
  --dbname="$DATABASE_URL" "$backup/db.dump"
mkdir -p "$MEDIA_ROOT"
tar -C "$MEDIA_ROOT" -xzf "$backup/media.tar.gz"
echo "restored $backup"
