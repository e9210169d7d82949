"""OPC UA (``asyncua``) for process data: publish a recording's signal streams as OPC UA nodes,
and receive any power source's or PLC's nodes as a live source for the stream engine.

A *node map* (YAML, like the ingest manifest) says which node carries which channel::

    endpoint: opc.tcp://127.0.0.1:4840/weldfusion/
    time_origin_utc: "2026-12-02T06:00:00+00:00"   # recording time 0 (optional: first sample)
    streams:
      electrical:
        rate: 5000                                   # nominal Hz
        counter: "ns=2;s=electrical.sample_counter"  # optional: the source's sample counter
        channels: {current: "ns=2;s=electrical.current", voltage: "ns=2;s=electrical.voltage",
                   wire_feed: "ns=2;s=electrical.wire_feed", travel_speed: "ns=2;s=electrical.travel_speed"}

The client subscribes to every mapped node (sampling interval 0: every change, a deep queue) and
joins the values that share a **source timestamp** into one sample; a sample's recording time is
its source timestamp minus ``time_origin_utc``. With a ``counter`` node the sample index is that
counter (dropouts are exact), else it is counted from the time stamps at the nominal rate. A lost
connection (closed socket, failed health check, or a subscription silent past :data:`LIVENESS_S`)
is taken up by a fresh client and subscription, with back-off; samples a restarted server sends
again are dropped by their counter.

``serve_opcua`` publishes a recording this way (server on ``127.0.0.1`` only, one object per
stream, one Double variable per channel plus ``sample_counter``; every sample written with its
recording time as source timestamp, paced on the wall clock) and writes the node map.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import yaml
from weldfusion.recipes.errors import InvalidInput
from weldfusion.recipes.files import atomic_write_text
from weldfusion.sensors.raw_source import first_line
from weldfusion.tools.streaming.opcua_map import NodeStream, read_node_map
from weldfusion.tools.streaming.replay import Packet, Replay, StreamHeader
from weldfusion.tools.streaming.sources import queued_packets

NAMESPACE = "urn:weldfusion"
#: Receive: stop when no sample came for this long (s) after the first one.
IDLE_S = 2.0
#: Connection back-off: first and longest wait (s) between attempts while the server is not up.
RECONNECT_S = (0.2, 1.0)
#: How often asyncua's supervisor checks that the server still answers (s); a failed check, or a
#: closed socket, is a lost connection.
WATCHDOG_S = 0.5
#: The subscription's publishing interval (ms) and keep-alive count: with no data the server still
#: answers every 100 x 10 ms = 1 s, so a subscription silent for :data:`LIVENESS_S` (or three
#: keep-alive periods, if the server revised them longer) is dead even while the socket looks open.
PUBLISH_MS, KEEPALIVE_COUNT = 10, 100
LIVENESS_S = 3.0
#: Receive: how long a lost connection is retried before the source gives up (s).
RECONNECT_LIMIT_S = 10.0
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _utc(seconds: float) -> dt.datetime:
    return _EPOCH + dt.timedelta(seconds=seconds)


def _seconds(stamp: dt.datetime) -> float:
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return (stamp - _EPOCH).total_seconds()


# -- publisher ------------------------------------------------------------------------------------------
async def _serve(recording, port: int, names, speed: float, lead_s: float, map_path: Path | None,
                 stop: threading.Event, ready: threading.Event | None, start_at: float | None,
                 catch_up: bool, hold: threading.Event | None) -> int:
    from asyncua import Server, ua  # lazy: asyncua only for the OPC UA paths

    endpoint = f"opc.tcp://127.0.0.1:{port}/weldfusion/"
    server = Server()
    await server.init()
    server.set_endpoint(endpoint)
    idx = await server.register_namespace(NAMESPACE)
    with Replay(recording, names=names) as replay:
        signals = [n for n, h in replay.headers.items() if h.kind == "signal"]
        if not signals:
            raise InvalidInput(f"{recording}: no signal stream to publish over OPC UA")
        nodes: dict[str, list] = {}
        node_map: dict = {"endpoint": endpoint, "streams": {}}
        for name in signals:
            head = replay.headers[name]
            obj = await server.nodes.objects.add_object(ua.NodeId(name, idx), name)
            channels = list(head.channel_names) or [name]
            variables = []
            for ch in channels:
                variables.append(await obj.add_variable(ua.NodeId(f"{name}.{ch}", idx), ch, 0.0))
            counter = await obj.add_variable(ua.NodeId(f"{name}.sample_counter", idx), "sample_counter",
                                             ua.Variant(0, ua.VariantType.Int64))
            nodes[name] = [counter, *variables]
            node_map["streams"][name] = {
                "rate": head.rate, "starting_time": head.starting_time, "counter": counter.nodeid.to_string(),
                "units": head.units,
                "channels": {ch: v.nodeid.to_string() for ch, v in zip(channels, variables, strict=True)}}
        while hold is not None and not hold.is_set() and not stop.is_set():
            await asyncio.sleep(0.01)  # address space built; listen only when released
        async with server:
            wall0 = (start_at if start_at is not None else time.time() + lead_s) - replay.origin_s / speed
            node_map["time_origin_utc"] = _utc(wall0).isoformat()
            node_map["meta"] = {k: v for k, v in replay.meta.items() if isinstance(v, (str, int, float, bool))}
            if map_path is not None:
                atomic_write_text(map_path, yaml.safe_dump(node_map, sort_keys=False))
            if ready is not None:
                ready.set()
            sent, listening_since = 0, time.time()
            for packet in replay.packets():
                if packet.name not in nodes:
                    continue
                due = wall0 + packet.arrival / speed
                if not catch_up and due < listening_since - 0.1:
                    continue  # a restarted server publishes from the present on, not what it missed
                while not stop.is_set() and (wait := due - time.time()) > 0:
                    await asyncio.sleep(min(wait, 0.05))
                if stop.is_set():
                    break
                counter, *variables = nodes[packet.name]
                rows = packet.data.reshape(len(packet.data), -1)
                for i, (row, t) in enumerate(zip(rows, packet.times, strict=True)):
                    stamp = _utc(wall0 + float(t) / speed)
                    for var, value in zip(variables, row, strict=True):
                        await server.write_attribute_value(var.nodeid, ua.DataValue(
                            ua.Variant(float(value), ua.VariantType.Double), SourceTimestamp=stamp))
                    await server.write_attribute_value(counter.nodeid, ua.DataValue(
                        ua.Variant(packet.start + i, ua.VariantType.Int64), SourceTimestamp=stamp))
                sent += 1
            await asyncio.sleep(0.5)  # the last notifications leave before the server stops
    return sent


def serve_opcua(recording, *, port: int = 4840, names: Sequence[str] | None = None, speed: float = 1.0,
                lead_s: float = 2.0, map_path: str | None = None, stop: threading.Event | None = None,
                ready: threading.Event | None = None, start_at: float | None = None, catch_up: bool = True,
                hold: threading.Event | None = None) -> int:
    """Publish the signal streams of ``recording`` on ``opc.tcp://127.0.0.1:<port>/weldfusion/``
    (see the module docstring); writes the node map to ``map_path``; returns the packets sent.
    ``start_at`` (``time.time()``) is when recording time ``origin`` is sent (default: in ``lead_s``);
    ``catch_up=False`` skips the samples overdue when it starts listening (a server restarted
    mid-weld); every later sample is sent, late or not (a server slowed by load never drops); with ``hold`` the
    server builds its address space and starts listening only once ``hold`` is set (a standby
    publisher that takes over within milliseconds, as a restarted power source's server would
    after its own boot)."""
    if not speed > 0:
        raise InvalidInput(f"--speed must be > 0, got {speed}")
    return asyncio.run(_serve(recording, port, names, speed, lead_s, Path(map_path) if map_path else None,
                              stop or threading.Event(), ready, start_at, catch_up, hold))


# -- receiver -----------------------------------------------------------------------------------------
class OpcUaSource:
    """Live packets of the streams a node map names (see the module docstring).

    Args:
        node_map: the YAML file.
        names: modalities to receive (default: all in the map).
        packet_s: samples are handed to the engine in packets of about this length.
        idle_s: :meth:`packets` ends when no sample came for this long after the first, while
            connected; a lost connection is retried for up to ``reconnect_limit_s`` first (the
            engine meanwhile marks the sensor missing and goes on with the others).
    """

    def __init__(self, node_map: str, names: Sequence[str] | None = None, *, packet_s: float = 0.01,
                 idle_s: float = IDLE_S, connect_s: float = 10.0, reconnect_limit_s: float = RECONNECT_LIMIT_S) -> None:
        self.path = Path(node_map)
        nmap = read_node_map(self.path)
        self.endpoint = nmap.endpoint
        self.origin_utc = _seconds(dt.datetime.fromisoformat(nmap.time_origin_utc)) if nmap.time_origin_utc else None
        self.meta = dict(nmap.meta)
        self.idle_s = idle_s
        self.connect_s = connect_s
        self.headers: dict[str, StreamHeader] = {}
        self._map: dict[str, NodeStream] = {}
        for name, spec in nmap.streams.items():
            if names is not None and name not in names:
                continue
            channels = tuple(spec.channels)
            self._map[name] = spec
            self.headers[name] = StreamHeader(name, "signal", float(spec.rate), float(spec.starting_time),
                                              (len(channels),), np.dtype(np.float32), channels, spec.units,
                                              max(1, round(spec.rate * packet_s)))
        if not self.headers:
            raise InvalidInput(f"{self.path}: none of the model's sensors ({', '.join(names or [])}) is mapped")
        self.names = tuple(self.headers)
        self.origin_s = 0.0
        self._queue: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.reconnect_limit_s = reconnect_limit_s
        self._lost_since: float | None = None  # monotonic time the connection was lost, None while up
        self.reconnects = 0

    def _reconnecting(self) -> bool:
        lost = self._lost_since
        return lost is not None and time.monotonic() - lost < self.reconnect_limit_s

    async def _run(self) -> None:
        from asyncua import ua  # lazy: asyncua only for the OPC UA paths

        pending: dict[str, dict[float, dict]] = {n: {} for n in self.names}
        origin = [self.origin_utc]
        buffers: dict[str, list] = {n: [] for n in self.names}
        index_of: dict[str, dict[str, str]] = {}
        for name, spec in self._map.items():
            index_of[name] = {str(node): ch for ch, node in spec.channels.items()}
            if spec.counter:
                index_of[name][str(spec.counter)] = "__counter"
        owner = {node: name for name, m in index_of.items() for node in m}
        source = self
        next_counter = {n: 0 for n in self.names}  # a reconnected server may resend what came before

        def flush(name: str, now: float) -> None:
            rows = buffers[name]
            if not rows:
                return
            head = source.headers[name]
            rows.sort(key=lambda r: r[1])
            rows = [r for r in rows if r[1] >= next_counter[name]]
            buffers[name] = []
            if not rows:
                return
            counters = np.array([r[1] for r in rows], dtype=np.int64)
            keep = np.concatenate([[True], np.diff(counters) > 0])  # one sample per counter
            counters = counters[keep]
            data = np.array([r[2] for r, k in zip(rows, keep, strict=True) if k], dtype=np.float32)
            next_counter[name] = int(counters[-1]) + 1
            for part in np.split(np.arange(len(counters)), np.flatnonzero(np.diff(counters) != 1) + 1):
                times = head.starting_time + counters[part] / head.rate
                source._queue.put(Packet(name, int(counters[part[0]]), data[part], times, now - origin[0]))

        class Handler:
            def status_change_notification(self, status):
                pass  # a subscription ended by a lost connection: the receive loop sees the loss itself

            def datachange_notification(self, node, value, data):
                try:
                    self._on_change(node, value, data)
                except BaseException as err:  # noqa: BLE001 - asyncua swallows callback errors: hand it on
                    source._error = err
                    source._queue.put(None)

            def _on_change(self, node, value, data):
                key = node.nodeid.to_string()
                name = owner.get(key)
                source_stamp = data.monitored_item.Value.SourceTimestamp
                if name is None or source_stamp is None:
                    return
                stamp = _seconds(source_stamp)
                if origin[0] is None:
                    origin[0] = stamp
                head = source.headers[name]
                if stamp - origin[0] < head.starting_time - 0.5 / head.rate:
                    return  # a value from before the recording started (the node's initial value)
                sample = pending[name].setdefault(stamp, {})
                sample[index_of[name][key]] = value
                need = len(head.channel_names) + (1 if "__counter" in index_of[name].values() else 0)
                if len(sample) == need:
                    del pending[name][stamp]
                    t = stamp - origin[0]
                    counter = (int(sample["__counter"]) if "__counter" in sample
                               else round((t - head.starting_time) * head.rate))
                    buffers[name].append((t, counter, [float(sample[c]) for c in head.channel_names]))
                    if len(buffers[name]) >= head.packet_samples:
                        flush(name, time.time())

        trigger = ua.DataChangeFilter(Trigger=ua.DataChangeTrigger.StatusValueTimestamp)
        nodes = [node for name in self.names for node in index_of[name]]
        handler = Handler()
        leaving: set[asyncio.Task] = set()  # dropped clients still closing (never awaited in line)
        deadline = time.monotonic() + self.connect_s
        try:
            while not self._stop.is_set():
                client = await self._connect(deadline, first=self._lost_since is None and not self.reconnects)
                if client is None:
                    return  # the server stayed away for reconnect_limit_s: the source ends on silence
                try:
                    await self._receive(client, handler, nodes, trigger, flush)
                except (TimeoutError, OSError, ConnectionError, ua.UaError):
                    pass  # lost while subscribing: reconnect below
                finally:
                    task = asyncio.create_task(asyncio.wait_for(client.disconnect(), timeout=2.0))
                    leaving.add(task)
                    task.add_done_callback(lambda t: (leaving.discard(t), t.cancelled() or t.exception()))
                if self._stop.is_set():
                    break
                if self._lost_since is None:
                    self._lost_since = time.monotonic()
                deadline = self._lost_since + self.reconnect_limit_s
        finally:
            for name in self.names:
                flush(name, time.time())
            if leaving:
                await asyncio.wait(leaving, timeout=2.5)

    async def _connect(self, deadline: float, first: bool):
        """A connected ``asyncua.Client``, retrying with back-off until ``deadline`` (monotonic s);
        at the first connection a server that never answers is one line, later None."""
        from asyncua import Client, ua  # lazy: asyncua only for the OPC UA paths

        delay = RECONNECT_S[0]
        while not self._stop.is_set():
            # asyncua's own reconnect is off: a lost connection is a fresh client and subscription
            # (its session transfer lost the monitored items when the server died mid-restore)
            client = Client(self.endpoint, timeout=2.0, watchdog_intervall=WATCHDOG_S, auto_reconnect=False)
            try:
                await client.connect()
                return client
            except (TimeoutError, OSError, ConnectionError, ua.UaError) as err:
                if time.monotonic() > deadline:
                    if first:
                        raise InvalidInput(f"{self.endpoint}: no OPC UA server answers within {self.connect_s:g} s "
                                           f"({first_line(err)})") from None
                    return None
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_S[1])
        return None

    async def _receive(self, client, handler, nodes, trigger, flush) -> None:
        """Subscribe ``nodes`` on ``client`` and hand samples over until the connection is lost
        (socket closed, a failed health check, or no publish answer, not even a keep-alive, for
        :data:`LIVENESS_S`) or the source is closed."""
        from asyncua import ua  # lazy: asyncua only for the OPC UA paths
        from asyncua.client.ua_client import UaClientState  # lazy: asyncua only for the OPC UA paths

        params = ua.CreateSubscriptionParameters(
            RequestedPublishingInterval=PUBLISH_MS, RequestedMaxKeepAliveCount=KEEPALIVE_COUNT,
            RequestedLifetimeCount=10 * KEEPALIVE_COUNT, MaxNotificationsPerPublish=0, PublishingEnabled=True)
        sub = await client.create_subscription(params, handler)
        # every write is a sample, also when its value repeats (a constant wire feed): trigger
        # on the timestamp too (asyncua's public subscribe_data_change has no filter argument)
        await sub._subscribe([client.get_node(n) for n in nodes], ua.AttributeIds.Value, mfilter=trigger,
                             queuesize=10_000, sampling_interval=0)
        if self._lost_since is not None:
            self._lost_since, self.reconnects = None, self.reconnects + 1  # back
        # a server may revise the keep-alive (asyncua then updates the subscription's parameters):
        # silence counts as a loss only after three of its keep-alive periods
        keepalive_s = sub.parameters.RequestedPublishingInterval / 1000 * sub.parameters.RequestedMaxKeepAliveCount
        liveness_s = max(LIVENESS_S, 3.0 * keepalive_s)
        subscribed = time.monotonic()
        while not self._stop.is_set():
            await asyncio.sleep(0.02)
            for name in self.names:  # hand over what a slow source has sent so far
                flush(name, time.time())
            heard = max(sub.last_publish_at or subscribed, subscribed)
            if client.uaclient.state is not UaClientState.CONNECTED or time.monotonic() - heard > liveness_s:
                self._lost_since = time.monotonic()
                return

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as err:  # noqa: BLE001 - handed to the consumer
            self._error = err
            self._queue.put(None)

    def packets(self) -> Iterator[Packet]:
        """Packets in arrival order until no sample came for ``idle_s``."""
        self._thread = threading.Thread(target=self._thread_main, daemon=True)
        self._thread.start()
        yield from queued_packets(self._queue, self.idle_s, failed=self._raise, waiting=self._reconnecting)

    def _raise(self) -> None:
        if isinstance(self._error, InvalidInput):
            raise self._error
        raise InvalidInput(f"{self.endpoint}: OPC UA connection failed ({first_line(self._error)})")

    def now(self) -> float:
        """The current time on the recording clock (for latency)."""
        return time.time() - (self.origin_utc or 0.0)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def __enter__(self) -> OpcUaSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
