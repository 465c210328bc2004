"""Operating the hub: its state beside the data (the feed's epoch, the scheduler's heartbeat),
backups and restores, health and metrics, logs and the configuration check."""

from hub.ops import cli  # noqa: F401  (attach the commands)
