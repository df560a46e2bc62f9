"""DynamoDB Streams: the table's ``StreamSpecification`` (``specification.py``), stream and shard names
(``names.py``), opaque shard iterators (``iterators.py``), records in AWS's shapes (``records.py``), reading
a partition's change log (``reader.py``) and the Streams API (``api.py``: ``X-Amz-Target:
DynamoDBStreams_20120810.*`` on the gateway's DynamoDB endpoint)."""
