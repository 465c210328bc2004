"""The hub's benchmark harness: ``python -m bench`` (see README.md in this folder)."""
