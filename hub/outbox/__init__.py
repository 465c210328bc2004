"""What the hub sends after a commit: mail, through an outbox (docs/mail.md).

A message is written in the same transaction as what caused it (``hub.outbox.mail.queue``), so
that it exists exactly when its cause does, and the scheduler delivers it afterwards
(``hub.outbox.delivery``), with retries; nothing is sent from inside a web request. Webhooks'
outbox is the changes feed itself (``hub.webhooks.delivery``); both wait between attempts as
``hub.outbox.retry`` says.

Below the features that use it: nothing here imports a feature package.
"""

from hub.outbox import cli  # noqa: F401  (attach the commands)
