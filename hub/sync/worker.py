"""The sync's worker process (``hub.sync.prepare.Preparer`` starts it): prepares the batches of
partner records it is sent on its standard input, and answers on its standard output."""

if __name__ == "__main__":
    from hub.sync.prepare import serve

    serve()
