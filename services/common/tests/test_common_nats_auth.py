"""NATS with the embedded default's users: a client without credentials (or with a wrong
password) cannot connect, and a service's credentials publish and read only its own
subjects (only the response service may publish pulse.response.recorded, only the survey
service delivery.invitation.issued, which lives on its own stream that no other service can
read)."""

from __future__ import annotations

import asyncio

import nats
import nats.errors
import nats.js.errors
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig
from pulse_common.embedded import EmbeddedNats
from pulse_common.messaging import connect_nats, ensure_delivery_stream, ensure_stream
from pulse_common.nats_auth import inbox_prefix, permissions
from pulse_common.subjects import DELIVERY_STREAM, STREAM
from pulse_testing.security import nats_passwords


async def service_client(server: EmbeddedNats, user: str) -> NatsClient:
    return await connect_nats(
        server.plain_url,
        f"test-{user}",
        connect_timeout_s=5,
        user=user,
        password=nats_passwords()[user],
        inbox_prefix=inbox_prefix(user),
    )


async def refused_connect(url: str, **options: str) -> None:
    """The server refuses the login: the client sees an authorization violation."""
    seen: list[str] = []

    async def on_error(error: Exception) -> None:
        seen.append(str(error))

    connecting = nats.connect(
        url,
        connect_timeout=2,
        allow_reconnect=False,
        max_reconnect_attempts=0,
        error_cb=on_error,
        **options,
    )
    with pytest.raises((nats.errors.Error, OSError)):
        await connecting
    assert any("authorization violation" in text.lower() for text in seen), seen


async def test_strangers_cannot_connect(embedded_nats: EmbeddedNats) -> None:
    await refused_connect(embedded_nats.plain_url)
    await refused_connect(embedded_nats.plain_url, user="response", password="guess")
    tools = await nats.connect(embedded_nats.url)  # the tools user, from the data dir
    assert tools.is_connected
    await tools.close()


async def test_each_service_publishes_and_reads_only_its_own_subjects(
    embedded_nats: EmbeddedNats,
) -> None:
    tools = await nats.connect(embedded_nats.url)
    await ensure_stream(tools.jetstream())
    await ensure_delivery_stream(tools.jetstream())
    response = await service_client(embedded_nats, "response")
    survey = await service_client(embedded_nats, "survey")
    try:
        rjs, sjs = response.jetstream(), survey.jetstream()
        ack = await rjs.publish(
            "pulse.response.recorded", b"real", headers={"Nats-Msg-Id": "r-1"}, timeout=5
        )
        assert ack.stream == STREAM
        ack = await sjs.publish(
            "delivery.invitation.issued", b"real", headers={"Nats-Msg-Id": "i-1"}, timeout=5
        )
        assert ack.stream == DELIVERY_STREAM
        # Forgeries: each service publishing the other's subject is dropped by the server.
        for js, subject in (
            (rjs, "delivery.invitation.issued"),
            (sjs, "pulse.invitation.issued"),  # nor on the shared stream
            (sjs, "pulse.response.recorded"),
            (rjs, "pulse.interaction.completed"),
        ):
            with pytest.raises((nats.errors.TimeoutError, nats.js.errors.Error)):
                await js.publish(subject, b"forged", headers={"Nats-Msg-Id": "f"}, timeout=1)
        info = await tools.jetstream().stream_info(STREAM)
        assert info.state.messages == 1
        assert (await tools.jetstream().stream_info(DELIVERY_STREAM)).state.messages == 1

        # Reading: a consumer filtered on its own subjects, never on another's.
        await rjs.add_consumer(
            STREAM,
            ConsumerConfig(
                name="response-surveys",
                durable_name="response-surveys",
                filter_subject="pulse.survey.published",
            ),
        )
        with pytest.raises((nats.errors.TimeoutError, nats.js.errors.Error)):
            await rjs.add_consumer(
                STREAM,
                ConsumerConfig(
                    name="peek", durable_name="peek", filter_subject="pulse.invitation.issued"
                ),
                timeout=1,
            )
        # The stream reader: no other service can look into the delivery stream at all.
        reader = response.jetstream(timeout=1)
        for filtered in ("delivery.invitation.issued", "delivery.>"):
            with pytest.raises((nats.errors.TimeoutError, nats.js.errors.Error)):
                await reader.add_consumer(
                    DELIVERY_STREAM,
                    ConsumerConfig(name="peek", durable_name="peek", filter_subject=filtered),
                    timeout=1,
                )
        with pytest.raises((nats.errors.TimeoutError, nats.js.errors.Error)):
            await reader.stream_info(DELIVERY_STREAM)
        with pytest.raises((nats.errors.TimeoutError, nats.js.errors.Error)):
            await reader.get_msg(DELIVERY_STREAM, 1)
        # Deleting a delivered message: the survey service may (by sequence, never reading
        # it back), no other service may, on either stream.
        with pytest.raises((nats.errors.TimeoutError, nats.js.errors.Error)):
            await reader.delete_msg(DELIVERY_STREAM, 1)
        with pytest.raises((nats.errors.TimeoutError, nats.js.errors.Error)):
            await survey.jetstream(timeout=1).delete_msg(STREAM, 1)
        with pytest.raises((nats.errors.TimeoutError, nats.js.errors.Error)):
            await survey.jetstream(timeout=1).get_msg(DELIVERY_STREAM, 1)
        assert await sjs.delete_msg(DELIVERY_STREAM, 1)
        assert (await tools.jetstream().stream_info(DELIVERY_STREAM)).state.messages == 0
        # A plain subscription to the events (or to another user's replies) delivers nothing.
        received: list[bytes] = []

        async def keep(msg: Msg) -> None:
            received.append(msg.data)

        await response.subscribe("pulse.>", cb=keep)
        await response.subscribe("delivery.>", cb=keep)
        await response.subscribe("_INBOX_survey.>", cb=keep)
        await response.flush()
        await tools.publish("delivery.invitation.issued", b"token and e-mail")
        await tools.publish("_INBOX_survey.x", b"a reply")
        await tools.flush()
        await asyncio.sleep(0.3)
        assert received == []
    finally:
        for client in (response, survey, tools):
            await client.close()


def test_the_permission_table_gives_each_subject_one_publisher() -> None:
    owners = {
        subject: [
            user
            for user in ("survey", "response", "correlation")
            if any(
                pattern.removesuffix(">") in subject
                for pattern in permissions(user)["publish"]["allow"]
                if pattern.startswith(("pulse.", "delivery.")) and ".deadletter" not in pattern
            )
        ]
        for subject in (
            "pulse.response.recorded",
            "delivery.invitation.issued",
            "pulse.survey.published",
            "pulse.org.changed",
            "pulse.report.ready",
        )
    }
    assert owners == {
        "pulse.response.recorded": ["response"],
        "delivery.invitation.issued": ["survey"],
        "pulse.survey.published": ["survey"],
        "pulse.org.changed": ["survey"],
        "pulse.report.ready": ["correlation"],
    }
    # Interactions come from outside (a CRM, through the tools user): no service forges them.
    assert not any(
        "pulse.interaction.>" in permissions(user)["publish"]["allow"]
        for user in ("survey", "response", "correlation")
    )
