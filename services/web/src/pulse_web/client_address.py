"""The real client address behind a configured trusted proxy (pure). ``X-Forwarded-For`` is
believed only when the connection comes from a trusted proxy; then the address is the
right-most entry that is not itself a trusted proxy (entries further left are whatever the
client chose to send). Without trusted proxies the header is ignored: a client cannot
pick its own rate-limit bucket."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """``10.0.0.1, 10.1.0.0/16, ::1`` -> networks; ``ValueError`` names a bad entry."""
    networks = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{part!r} is not an IP address or network") from None
    return tuple(networks)


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(peer: str, forwarded_for: str | None, proxies: Sequence[Network]) -> str:
    """The address to rate-limit: ``peer``, or, when ``peer`` is a trusted proxy, the
    right-most untrusted address of ``forwarded_for``."""
    if not proxies or not forwarded_for or not _trusted(peer, proxies):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else peer
