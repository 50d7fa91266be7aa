"""Per-channel sampling of customer interactions (pure).

``PULSE_SAMPLING`` lists the share of interactions invited per channel, e.g.
``call=0.5,ticket=1.0,*=1.0``; ``*`` is every other channel and defaults to
``PULSE_CUSTOMER_SAMPLE_RATE`` (itself 1.0 by default). Channel names are matched
lower-cased, as interactions store them. The draw is an HMAC of the interaction id under the
deployment secret, so a retried or redelivered interaction takes the same decision and a
caller cannot steer it. The variables are read by ``settings``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pulse_common.config import ConfigError
from pulse_common.fields import CHANNEL

from pulse_survey.tokens import sample_draw

VARIABLE = "PULSE_SAMPLING"
ANY_CHANNEL = "*"


@dataclass(frozen=True)
class SamplingPolicy:
    rates: Mapping[str, float] = field(default_factory=dict)
    default: float = 1.0

    def rate_for(self, channel: str) -> float:
        return self.rates.get(channel.strip().lower(), self.default)

    def invites(self, secret: str, interaction_id: str, channel: str) -> bool:
        """True when the interaction is in the sample (rate 0 never, rate 1 always)."""
        return sample_draw(secret, interaction_id) < self.rate_for(channel)


def parse_sampling(raw: str, default: float = 1.0) -> SamplingPolicy:
    """``channel=rate`` pairs separated by commas; raises ``ConfigError`` naming
    ``PULSE_SAMPLING`` and the bad entry."""
    rates: dict[str, float] = {}
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        channel, sep, value = (piece.strip() for piece in entry.partition("="))
        channel = channel.lower()
        if not sep or not (channel == ANY_CHANNEL or CHANNEL.match(channel)):
            raise ConfigError(
                f"{VARIABLE} entries must look like channel=rate (e.g. call=0.5,*=1), got {entry!r}"
            )
        try:
            rate = float(value)
        except ValueError:
            raise ConfigError(f"{VARIABLE}: the rate of {channel} must be a number") from None
        if not 0.0 <= rate <= 1.0:
            raise ConfigError(f"{VARIABLE}: the rate of {channel} must be between 0 and 1")
        if channel in rates:
            raise ConfigError(f"{VARIABLE}: channel {channel} is listed twice")
        rates[channel] = rate
    fallback = rates.pop(ANY_CHANNEL, default)
    return SamplingPolicy(rates, fallback)
