"""gunicorn's settings for the hub: ``gunicorn --config deploy/gunicorn.conf.py wsgi:app``, which
``make run`` and the benchmark run with ``--bind`` (deploy/README.md). Every setting can be
overridden on the command line or in ``GUNICORN_CMD_ARGS``."""

from hub import serving
from hub.serving import Worker, thread_count

worker_class = Worker  # gunicorn's gthread, whose reads of a request time out
workers = 2
# Each worker may hold a few stalled requests for their read timeout and still have threads for
# everyone else; the connections themselves wait on the worker's poller, not on a thread. Under
# Python 3.11, one (hub/serving.py, THREADS_ARE_SAFE), and the log says so at start.
threads = thread_count(32)
# In the master, before any worker: a warning where threads are not safe, and the folder where
# the workers keep their metrics (PROMETHEUS_MULTIPROC_DIR, hub.ops.metrics), made afresh unless
# given; a worker's gauges go with it, the folder with the master.
on_starting = serving.starting
child_exit = serving.worker_ended
on_exit = serving.stopped
# gunicorn's lines go where the hub's go, as JSON or text (HUB_LOG_FORMAT); the hub logs one line
# per request itself, so gunicorn's access log stays off unless --access-logfile asks for it.
logger_class = serving.Logger
# A request whose client sends nothing for this long is dropped (stalled headers) or answered
# 408 (stalled body).
Worker.read_timeout = 10.0
# gthread workers report to the master between requests: this only restarts a stuck worker.
timeout = 120
graceful_timeout = 30
keepalive = 5
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# No control socket ($HOME/.gunicorn/gunicorn.ctl, one for every gunicorn of the user): the hub
# is not managed through it.
control_socket_disable = True
