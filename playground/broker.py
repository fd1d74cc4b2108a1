"""The Celery broker transport: kombu's Redis transport, made to survive the loss of Redis.

When a worker's broker connection drops (Redis restarted, a network cut), Celery collects the
connection and then closes it; closing the channel restores the messages the worker has not
acknowledged yet. By then kombu has already detached the transport from its connection, so the
restore fails with `AttributeError: 'NoneType' object has no attribute 'hostname'`, which is not a
connection error: Celery calls it unrecoverable and the worker exits (measured: 5 of 5 restarts of
Redis under a worker holding unacknowledged messages). Here a restore that cannot reach Redis is
skipped and logged instead; the worker reconnects and carries on.

Nothing is lost by skipping: if Redis kept the messages, another worker restores them after
kombu's visibility timeout; if it lost them, the runs they stood for are still `queued` in the
database and the sweep dispatches them again (runs.recovery).
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.transport import redis, virtual

logger = logging.getLogger(__name__)


class QoS(redis.QoS):
    """Acknowledgements and restores on a channel whose connection is gone are skipped, not fatal."""

    def _detached(self) -> bool:
        # kombu drops these links when it collects a lost connection; its own code then fails on them.
        transport = self.channel.connection
        return transport is None or transport.client is None

    def restore_unacked(self, client: Any = None) -> Any:
        if client is None and self._detached():
            logger.warning(
                "lost the broker connection with %d unacknowledged message(s); not restoring them now "
                "(Redis restores them after its visibility timeout if it kept them, the run sweep otherwise)",
                len(self._delivered),
            )
            self._delivered.clear()
            return None
        return super().restore_unacked(client)

    def ack(self, delivery_tag: Any) -> None:
        if self._detached():
            logger.warning("a task finished after its broker connection was lost; its message cannot be acknowledged")
            virtual.QoS.ack(self, delivery_tag)
            return
        super().ack(delivery_tag)

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        if self._detached():
            logger.warning("a message cannot be rejected: its broker connection was lost")
            virtual.QoS.ack(self, delivery_tag)
            return
        super().reject(delivery_tag, requeue)


class Channel(redis.Channel):
    QoS = QoS
    _sync_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        """kombu makes a Redis client for every command outside a pipeline, every task published among
        them; redis-py's client object cost a web server about 0.2 ms of CPU per run started. The
        channel keeps one for its current pool (a client shares the pool's connections safely)."""
        if asynchronous:
            return super()._create_client(asynchronous=True)
        client = self._sync_client
        if client is None or client.connection_pool is not self.pool:  # a reconnect replaces the pool
            client = self._sync_client = super()._create_client()
        return client


class Transport(redis.Transport):
    Channel = Channel
