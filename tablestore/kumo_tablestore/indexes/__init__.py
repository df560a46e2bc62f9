"""Secondary indexes (LSIs and GSIs) of one partition: definitions, entries, storage, feed, reads.

See ``docs/indexes.md``.
"""
