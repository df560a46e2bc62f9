"""The partition server: executes DynamoDB operations on one partition of one table.

See :mod:`kumo_tablestore.protocol` for the router → partition protocol.
"""

from kumo_tablestore.server.http_server import PartitionServer, run_partition, serve_partition
from kumo_tablestore.server.partition import Partition

__all__ = ["Partition", "PartitionServer", "run_partition", "serve_partition"]
