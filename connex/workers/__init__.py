"""Scale-out on PostgreSQL: passes run as procrastinate jobs by `connex worker` processes on any number of machines.

* ``schema``: procrastinate's tables beside Connex's own, applied once under an advisory lock;
* ``jobs``: the procrastinate app and its one task, ``sync_connection``;
* ``slots``: a connection's ``sync.schedule`` as numbered slots every process computes alike;
* ``deferrer``: defers each slot's pass once, whichever and however many processes try;
* ``stalled``: a lost worker's pass queued again for another;
* ``service``: the worker process (procrastinate's worker, the side loops, /healthz and /status);
* ``status``: what is queued and running, per connection, read from the database.
"""
