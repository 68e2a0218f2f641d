"""What Celery needs from the broker it is given: Redis (developer machines, `make run`, the
tests) or RabbitMQ (production, docs/operations.md « RabbitMQ in production »).

Read by the settings (backend/settings/base.py) and by the tests that publish to a RabbitMQ
broker of their own, so that both declare the queues exactly as the workers do: RabbitMQ refuses
a queue declared again with other arguments.
"""

from kombu import Exchange, Queue

RABBITMQ_SCHEMES = ("amqp://", "amqps://", "pyamqp://")

# The one exchange the three queues are bound to. A topic exchange, not Celery's default direct
# one: Celery's native delayed delivery (countdown/ETA on quorum queues) forwards a delayed
# message by a routing key it prefixes with the delay's bits, which only a topic binding matches.
EXCHANGE = "parcours"


def is_rabbitmq(url: str) -> bool:
    return url.startswith(RABBITMQ_SCHEMES)


def quorum_queues(names: tuple[str, ...], *, delivery_limit: int) -> list[Queue]:
    """The task queues as RabbitMQ quorum queues: replicated (Raft) and always durable, so a
    message the broker confirmed survives a broker restart; a message delivered
    `delivery_limit` times without an acknowledgement — a task that kills its worker each time
    — is dropped instead of looping (the rows it was about are still in the database, and the
    periodic runs read them again)."""
    exchange = Exchange(EXCHANGE, type="topic", durable=True)
    return [
        Queue(
            name,
            exchange,
            routing_key=name,
            durable=True,
            queue_arguments={"x-queue-type": "quorum", "x-delivery-limit": delivery_limit},
        )
        for name in names
    ]
