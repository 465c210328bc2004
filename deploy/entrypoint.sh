#!/bin/sh
# The container's command (deploy/Containerfile; deploy/README.md, "With containers"):
#   web        migrate the database, then serve (one container, or the first of several)
#   serve      serve without migrating (several web containers, after a `migrate` one-shot)
#   scheduler  the sync scheduler (one per deployment; it stops cleanly on SIGTERM)
#   anything else is a hub command: migrate, create-user …, config check, …
set -eu

serve() {
    # gunicorn's settings are deploy/gunicorn.conf.py's; more with GUNICORN_CMD_ARGS.
    exec gunicorn --config deploy/gunicorn.conf.py --bind "0.0.0.0:${PORT:-8000}" \
        --access-logfile - wsgi:app
}

command=${1:-web}
case "$command" in
    web) hub migrate && serve ;;
    serve) serve ;;
    scheduler) exec hub scheduler ;;
    *) exec hub "$@" ;;
esac
