"""A small SQS-compatible surface over Kumo queues (Redis streams): the JSON 1.0 protocol
(``X-Amz-Target: AmazonSQS.<Op>``), the queue store, and the queue event source's poller."""
