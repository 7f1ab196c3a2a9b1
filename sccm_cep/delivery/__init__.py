"""Delivery of outbox documents to the vendor: HTTPS upload with retries, offline bundles for
air-gapped sites, and retention of what was sent. Implementation modules are private.
"""

from __future__ import annotations

from sccm_cep.delivery.bundle import (
    BundleInfo,
    ImportReport,
    import_receipts,
    prepare_bundle,
    read_bundle,
    upload_bundle,
)
from sccm_cep.delivery.outbox import (
    SendReport,
    Sent,
    apply_retention,
    count_unsent,
    send_pending,
    show_document,
)
from sccm_cep.delivery.upload import (
    BundleError,
    DeliveryError,
    DeliverySettings,
    Document,
    EndpointUnreachable,
    Outcome,
    Uploader,
    UploadStatus,
    check_endpoint,
)

__all__ = [
    "BundleError",
    "BundleInfo",
    "DeliveryError",
    "DeliverySettings",
    "Document",
    "EndpointUnreachable",
    "ImportReport",
    "Outcome",
    "SendReport",
    "Sent",
    "UploadStatus",
    "Uploader",
    "apply_retention",
    "check_endpoint",
    "count_unsent",
    "import_receipts",
    "prepare_bundle",
    "read_bundle",
    "send_pending",
    "show_document",
    "upload_bundle",
]
