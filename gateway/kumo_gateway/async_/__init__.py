"""Asynchronous invocation (``InvocationType=Event``) on Redis Streams: the gateway enqueues, ``kumo worker``
runs. Pure rules (:mod:`.rules`, :mod:`.records`, :mod:`.event_config`, :mod:`.keys`) beside the Redis I/O
(:mod:`.store`) and the worker process (:mod:`.worker`, :mod:`.invoker`). See docs/async.md."""
