#!/bin/sh
# Daily backup of 一键申报: the PostgreSQL database (pg_dump custom format) and the media
# directory (uploaded documents), with a checksum manifest. See docs/backup.md.
#
# Never backs up a key: FIELD_ENCRYPTION_KEYS, FIELD_HASH_KEY and SECRET_KEY are escrowed
# apart from the backups (docs/backup.md, "Keys").
#
#   DATABASE_URL   postgres://user[:password]@host:port/name (required)
#   MEDIA_ROOT     the media directory (required)
#   BACKUP_DIR     where the backups go, one directory per run (required)
#   BACKUP_KEEP_DAYS  backups older than this are removed (default 30; 0 keeps all)
#
# Prints the path of the new backup. Exits non-zero on any failure, leaving no
# half-made backup behind under its final name.
set -eu

: "${DATABASE_URL:?set DATABASE_URL}"
: "${MEDIA_ROOT:?set MEDIA_ROOT}"
: "${BACKUP_DIR:?set BACKUP_DIR}"
keep_days="${BACKUP_KEEP_DAYS:-30}"

umask 077
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
final="$BACKUP_DIR/$stamp"
work="$BACKUP_DIR/.$stamp.partial"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

pg_dump --format=custom --compress=6 --no-owner --no-privileges \
  --file="$work/db.dump" --dbname="$DATABASE_URL"
if [ -d "$MEDIA_ROOT" ]; then
  tar -C "$MEDIA_ROOT" -czf "$work/media.tar.gz" .
else
  tar -czf "$work/media.tar.gz" -T /dev/null
fi
(cd "$work" && sha256sum db.dump media.tar.gz > SHA256SUMS)

mv "$work" "$final"
trap - EXIT

if [ "$keep_days" -gt 0 ]; then
  find "$BACKUP_DIR" -mindepth 1 -maxdepth 1 -type d -name '20*Z' -mtime +"$keep_days" \
    -exec rm -rf {} +
fi
echo "$final"
