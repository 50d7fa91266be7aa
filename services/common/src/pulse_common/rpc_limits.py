"""Per-call limits of RPCs one service serves and another calls, here so both sides agree."""

from __future__ import annotations

# Redemptions in one ``SurveyService.RedeemTokens`` call: the survey service refuses more
# (InvalidArgument naming ``redemptions``), the response service never sends more.
MAX_REDEMPTIONS = 256
