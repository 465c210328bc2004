"""Partner sync: sources, the fetcher, connectors' runs through the ingest pipeline."""

from hub.sync import cli  # noqa: F401  (attach the commands)
