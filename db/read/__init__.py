"""Typed read queries for the API and the GUI: filters and results are pydantic models
(db/read/models.py), every statement parameterised, every driver error a DbError."""

from db.read.calls import get_call, list_calls, stream_quality
from db.read.legs import LINK_REASONS, Leg, list_legs
from db.read.models import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    BadCursor,
    CallDetail,
    CallFilter,
    CallPage,
    CallSummary,
    DtmfDigit,
    RegistrationFilter,
    RegistrationPage,
    RegistrationState,
    SensorInfo,
)
from db.read.registrations import list_registrations
from db.read.sensors import get_sensor, list_sensors

__all__ = [
    "DEFAULT_LIMIT",
    "LINK_REASONS",
    "MAX_LIMIT",
    "BadCursor",
    "CallDetail",
    "CallFilter",
    "CallPage",
    "CallSummary",
    "DtmfDigit",
    "Leg",
    "RegistrationFilter",
    "RegistrationPage",
    "RegistrationState",
    "SensorInfo",
    "get_call",
    "get_sensor",
    "list_calls",
    "list_legs",
    "list_registrations",
    "list_sensors",
    "stream_quality",
]
