"""gRPC edge of SurveyService: one servicer made of the per-area servicers (org and roster,
items and surveys, waves, interactions and tokens). Each validates every field (naming
it) and translates proto <-> use case, nothing else; domain errors become status codes in
the shared interceptor."""

from __future__ import annotations

from pulse_survey.grpc_interactions import InteractionsServicer
from pulse_survey.grpc_org import OrgServicer
from pulse_survey.grpc_serves import ServesServicer
from pulse_survey.grpc_surveys import SurveysServicer
from pulse_survey.grpc_waves import WavesServicer


class SurveyServicer(
    OrgServicer, ServesServicer, SurveysServicer, WavesServicer, InteractionsServicer
):
    """Every RPC of ``pulse.survey.v1.SurveyService``, registered as one service."""
