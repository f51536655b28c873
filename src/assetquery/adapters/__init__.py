"""Institution adapters: the plug-in contract, the registry, and tools for reading answers.

Write an adapter by subclassing ``Adapter`` and registering it under the entry-point
group ``assetquery.adapters``; see ``docs/adapters.md``.
"""

from .._errors import (
    AdapterError,
    InstitutionFailure,
    InstitutionRejected,
    InstitutionTimeout,
    InstitutionUnavailable,
    InstitutionUnreachable,
    MalformedResponse,
    PermanentAdapterError,
    RetryableAdapterError,
)
from .._identifiers import scrub
from ._base import (
    Adapter,
    ControlRequest,
    ControlState,
    ControlStatus,
    InquiryAnswer,
    InquiryRequest,
    Institution,
    Operation,
    ResultCodes,
    check_same_action,
    check_status,
    idempotency_conflict,
    retry_after_seconds,
)
from ._registry import ENTRY_POINT_GROUP, available_adapters, load_adapter
from ._wire import JsonFields, XmlFields, json_body, xml_body

__all__ = [
    "ENTRY_POINT_GROUP",
    "Adapter",
    "AdapterError",
    "ControlRequest",
    "ControlState",
    "ControlStatus",
    "InquiryAnswer",
    "InquiryRequest",
    "Institution",
    "InstitutionFailure",
    "InstitutionRejected",
    "InstitutionTimeout",
    "InstitutionUnavailable",
    "InstitutionUnreachable",
    "JsonFields",
    "MalformedResponse",
    "Operation",
    "PermanentAdapterError",
    "ResultCodes",
    "RetryableAdapterError",
    "XmlFields",
    "available_adapters",
    "check_same_action",
    "check_status",
    "idempotency_conflict",
    "json_body",
    "load_adapter",
    "retry_after_seconds",
    "scrub",
    "xml_body",
]
