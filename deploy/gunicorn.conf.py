"""gunicorn's settings for the hub: ``gunicorn --config deploy/gunicorn.conf.py wsgi:app``, which
``make run`` runs with ``--bind`` and the access log (deploy/README.md)."""

from hub.serving import Worker

worker_class = Worker
workers = 2
# A worker alone may hold 20 stalled requests for their read deadlines (hub/serving.py) and
# still have threads for everyone else.
threads = 32
# gthread workers report to the master between requests: this only restarts a stuck worker.
timeout = 120
graceful_timeout = 30
keepalive = 5
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

Worker.header_timeout = 10.0
Worker.body_timeout = 20.0
Worker.body_min_rate = 500
# No gunicornc control socket: it would be one path ($HOME/.gunicorn/gunicorn.ctl) for every
# gunicorn of the user, and the hub is not managed through it.
control_socket_disable = True
