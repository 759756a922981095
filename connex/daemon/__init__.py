"""`connex daemon`: the flows on `sync.schedule`, with health and status over HTTP on 127.0.0.1."""
