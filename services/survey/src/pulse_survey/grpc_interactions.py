"""gRPC edge of customer interactions, invitations and tokens: RecordInteraction,
ListInvitations, InspectToken and RedeemToken. Checks the fields (naming them), calls
``interactions`` / ``invitations`` / ``redemption``."""

from __future__ import annotations

import asyncio

from pulse.survey.v1 import survey_service_pb2 as pb
from pulse.types.v1 import types_pb2
from pulse_common.errors import DomainError, InvalidArgument
from pulse_common.fields import require_uuid, rfc3339
from pulse_common.grpc_errors import status_for
from pulse_common.rpc_limits import MAX_REDEMPTIONS

from pulse_survey import domain, interactions, invitations, redemption
from pulse_survey.grpc_fields import AreaServicer, Context, survey_id_of, wave_id_of
from pulse_survey.invitation_repository import DeliveryFact, StoredInvitation

MAX_LIST, DEFAULT_LIST = 1000, 100
REDEMPTION_KEY_LENGTH = (8, 200)


def grant_message(invitation: StoredInvitation) -> pb.TokenGrant:
    """What a token lets its holder answer, and how the answer is attributed."""
    return pb.TokenGrant(
        survey_id=invitation.survey_id,
        survey_version=invitation.survey_version,
        kind=types_pb2.SurveyKind.ValueType(invitation.kind),
        unit_id=invitation.unit_id,
        period=invitation.period,
        wave_id=invitation.wave_id,
        channel=invitation.channel,
        item_ids=invitation.item_ids,
        expires_at=rfc3339(invitation.expires_at),
        language=invitation.language,
    )


def delivery_message(fact: DeliveryFact) -> pb.InvitationSummary:
    return pb.InvitationSummary(
        invitation_id=fact.invitation_id,
        survey_id=fact.survey_id,
        wave_id=fact.wave_id,
        channel=fact.channel,
        issued_at=rfc3339(fact.issued_at),
        expires_at=rfc3339(fact.expires_at),
        reminders_sent=fact.reminders_sent,
        delivery_status=fact.delivery_status,
        delivery_detail=fact.delivery_detail,
    )


class InteractionsServicer(AreaServicer):
    async def RecordInteraction(  # noqa: N802
        self, request: pb.RecordInteractionRequest, context: Context
    ) -> pb.RecordInteractionResponse:
        if not request.HasField("interaction"):
            raise InvalidArgument("interaction", "is required")
        i = request.interaction
        interaction = domain.parse_interaction(
            "interaction.",
            i.interaction_id,
            i.unit_id,
            i.occurred_at,
            i.channel,
            i.customer_key,
            i.customer_contact,
            i.language,
        )
        survey_id = survey_id_of("survey_id", request.survey_id, required=False)
        decision = await interactions.record_interaction(self.deps, interaction, survey_id)
        return pb.RecordInteractionResponse(
            decision=pb.InteractionDecision.ValueType(decision.decision),
            suppression_reason=decision.reason,
            invitation_id=decision.invitation_id,
            duplicate=decision.duplicate,
        )

    async def ListInvitations(  # noqa: N802
        self, request: pb.ListInvitationsRequest, context: Context
    ) -> pb.ListInvitationsResponse:
        """Delivery facts only: no person, no contact, no token, nothing that changes when
        an invitation is redeemed (``reminders_sent`` is the wave's count of reminder rounds)."""
        wave_id = wave_id_of("wave_id", request.wave_id) if request.wave_id else None
        survey_id = (
            require_uuid("survey_id", request.survey_id, "a survey id")
            if request.survey_id
            else None
        )
        if not 0 <= request.limit <= MAX_LIST:
            raise InvalidArgument("limit", f"must be between 0 and {MAX_LIST}")
        facts, total = await invitations.list_invitations(
            self.deps, wave_id, survey_id, request.limit or DEFAULT_LIST
        )
        return pb.ListInvitationsResponse(
            invitations=[delivery_message(fact) for fact in facts], total=total
        )

    async def InspectToken(  # noqa: N802
        self, request: pb.InspectTokenRequest, context: Context
    ) -> pb.InspectTokenResponse:
        invitation = await redemption.inspect(self.deps, request.token)
        return pb.InspectTokenResponse(grant=grant_message(invitation))

    async def RedeemToken(  # noqa: N802
        self, request: pb.RedeemTokenRequest, context: Context
    ) -> pb.RedeemTokenResponse:
        key = request.redemption_key
        low, high = REDEMPTION_KEY_LENGTH
        if not low <= len(key) <= high:
            raise InvalidArgument(
                "redemption_key", f"must be {low}-{high} characters (reuse it on retry)"
            )
        invitation = await redemption.redeem(self.deps, request.token, key)
        return pb.RedeemTokenResponse(grant=grant_message(invitation))

    async def RedeemTokens(  # noqa: N802
        self, request: pb.RedeemTokensRequest, context: Context
    ) -> pb.RedeemTokensResponse:
        """Each redemption as RedeemToken answers it, at once (issue 20: one call for the
        Submits that arrive together); a refusal is that redemption's outcome, never the
        call's, so one bad token fails nobody else."""
        if len(request.redemptions) > MAX_REDEMPTIONS:
            raise InvalidArgument("redemptions", f"at most {MAX_REDEMPTIONS} per call")

        async def outcome(one: pb.RedeemTokenRequest) -> pb.RedeemTokenOutcome:
            try:
                grant = (await self.RedeemToken(one, context)).grant
            except DomainError as error:
                field = error.field if isinstance(error, InvalidArgument) else ""
                return pb.RedeemTokenOutcome(
                    code=status_for(error).value[0], message=error.message, field=field
                )
            return pb.RedeemTokenOutcome(grant=grant)

        found = await asyncio.gather(*(outcome(one) for one in request.redemptions))
        return pb.RedeemTokensResponse(outcomes=found)
