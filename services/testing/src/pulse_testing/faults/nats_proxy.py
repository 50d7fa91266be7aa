"""A TCP proxy in front of nats-server that reads the NATS protocol in both directions and
can lose chosen frames, as a flaky network would:

- ``lose_pubacks(client, count, subject_prefix)``: the next ``count`` JetStream publish
  acknowledgements (server -> client ``MSG`` frames whose payload is a PubAck, answering a
  publish to a subject starting with ``subject_prefix``) to connections named ``client``
  never arrive, although the server stored the message;
- ``lose_acks(client)``: from now on, consumer acknowledgements (client -> server publishes
  to ``$JS.ACK.``) from connections named ``client`` never reach the server, although the
  consumer committed its work.

Connections are named by the ``name`` of their ``CONNECT`` (services use ``pulse-<name>``).
The proxy runs its own event loop in a thread, so it keeps forwarding while the test's loop
is busy or blocked. Plain TCP only: NATS over TLS would hide the frames."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from pulse_common.embedded import free_port

# Verbs whose frame carries a payload of the size given by the last argument.
_WITH_PAYLOAD = (b"PUB", b"HPUB", b"MSG", b"HMSG")


@dataclass(frozen=True)
class Frame:
    verb: bytes
    line: bytes
    payload: bytes
    raw: bytes

    @property
    def subject(self) -> bytes:
        parts = self.line.split()
        return parts[1] if len(parts) > 1 else b""


@dataclass
class FrameReader:
    """Splits a byte stream into NATS protocol frames (control line + optional payload)."""

    buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[Frame]:
        self.buffer += data
        frames: list[Frame] = []
        while True:
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return frames
            line = bytes(self.buffer[:end])
            verb = line.split(b" ", 1)[0].upper()
            total = end + 2
            payload = b""
            if verb in _WITH_PAYLOAD:
                size = int(line.rsplit(b" ", 1)[1])
                total = end + 2 + size + 2
                if len(self.buffer) < total:
                    return frames
                payload = bytes(self.buffer[end + 2 : end + 2 + size])
            frames.append(Frame(verb, line, payload, bytes(self.buffer[:total])))
            del self.buffer[:total]


@dataclass
class Rules:
    """What to lose; counters of what was lost. Read and written from two threads under
    ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    pubacks_to_lose: dict[str, int] = field(default_factory=dict)
    # Only PubAcks of publishes to subjects starting with this (per client; "" = any).
    puback_subjects: dict[str, bytes] = field(default_factory=dict)
    # Reply inbox -> subject of each publish that asked for a reply (what a PubAck acks).
    replies: dict[bytes, bytes] = field(default_factory=dict)
    acks_lost_from: set[str] = field(default_factory=set)
    pubacks_lost: int = 0
    acks_lost: int = 0
    pubacks_seen: dict[str, int] = field(default_factory=dict)

    def server_frame_passes(self, client: str, frame: Frame) -> bool:
        if frame.verb not in (b"MSG", b"HMSG") or not frame.payload.startswith(b'{"stream":'):
            return True
        with self.lock:
            self.pubacks_seen[client] = self.pubacks_seen.get(client, 0) + 1
            published = self.replies.pop(frame.subject, b"")
            left = self.pubacks_to_lose.get(client, 0)
            if left <= 0 or not published.startswith(self.puback_subjects.get(client, b"")):
                return True
            self.pubacks_to_lose[client] = left - 1
            self.pubacks_lost += 1
            return False

    def client_frame_passes(self, client: str, frame: Frame) -> bool:
        parts = frame.line.split()
        # PUB <subject> [reply] <size>; HPUB <subject> [reply] <header size> <total size>
        if frame.verb in (b"PUB", b"HPUB") and len(parts) == (4 if frame.verb == b"PUB" else 5):
            with self.lock:
                self.replies[parts[2]] = parts[1]
                if len(self.replies) > 100_000:  # replies that never came
                    self.replies.clear()
        if frame.verb != b"PUB" or not frame.subject.startswith(b"$JS.ACK."):
            return True
        with self.lock:
            if client not in self.acks_lost_from:
                return True
            self.acks_lost += 1
            return False


class NatsProxy:
    """``url`` is what clients use; ``upstream_port`` is the real nats-server."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.rules = Rules()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="nats-proxy", daemon=True)
        self._ready = threading.Event()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the NATS proxy did not start")

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._close_all_and_stop)
        self._thread.join(10)

    def lose_pubacks(self, client: str, count: int, subject_prefix: str = "") -> None:
        """Lose the next ``count`` PubAcks to ``client`` (of publishes to subjects starting
        with ``subject_prefix``)."""
        with self.rules.lock:
            self.rules.pubacks_to_lose[client] = count
            self.rules.puback_subjects[client] = subject_prefix.encode()

    def lose_acks(self, client: str, lose: bool = True) -> None:
        with self.rules.lock:
            if lose:
                self.rules.acks_lost_from.add(client)
            else:
                self.rules.acks_lost_from.discard(client)

    def sever(self) -> None:
        """Cut every open connection (clients reconnect through the proxy)."""
        self._call(self._close_connections)

    def _call(self, action: Callable[[], object]) -> None:
        done = threading.Event()

        def run() -> None:
            try:
                action()
            finally:
                done.set()

        self._loop.call_soon_threadsafe(run)
        done.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port)
        )
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    def _close_connections(self) -> None:
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    def _close_all_and_stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self._close_connections()
        self._loop.call_later(0.2, self._loop.stop)

    async def _serve(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        try:
            server_in, server_out = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_out.close()
            return
        self._writers |= {client_out, server_out}
        name = [""]  # learnt from CONNECT

        async def client_to_server() -> None:
            reader = FrameReader()
            while data := await client_in.read(65536):
                out = bytearray()
                for frame in reader.feed(data):
                    if frame.verb == b"CONNECT":
                        with contextlib.suppress(ValueError):
                            name[0] = str(json.loads(frame.line[8:]).get("name", ""))
                    if self.rules.client_frame_passes(name[0], frame):
                        out += frame.raw
                server_out.write(out)
                await server_out.drain()

        async def server_to_client() -> None:
            reader = FrameReader()
            while data := await server_in.read(65536):
                out = bytearray()
                for frame in reader.feed(data):
                    if self.rules.server_frame_passes(name[0], frame):
                        out += frame.raw
                client_out.write(out)
                await client_out.drain()

        pumps = [
            asyncio.ensure_future(client_to_server()),
            asyncio.ensure_future(server_to_client()),
        ]
        with contextlib.suppress(Exception):
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        for writer in (client_out, server_out):
            self._writers.discard(writer)
            writer.close()
