"""Webhooks: each change of the changes feed POSTed to partners' URLs, signed (Standard
Webhooks), retried with backoff, each attempt in a log. The pages are the administrators'
(hub.admin's blueprint); the dispatcher runs in the scheduler and as ``hub deliver-webhooks``."""

from hub.webhooks import cli  # noqa: F401  (attach the command)
