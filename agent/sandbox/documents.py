"""The ``document.*`` methods: create (with its presigned upload form), get, list, delete."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from agent.sandbox.call import Call, Reply
from agent.sandbox.params import ApiError, bad_request, not_found, text
from agent.sandbox.state import Document, new_id
from agent.sandbox.statuses import refresh_status, settle_upload
from agent.sandbox.views import document_json

MAX_FILE_NAME = 255


def _document(call: Call, document_id: str) -> Document:
    document = call.state.document(document_id, call.account_id)
    if document is None:
        raise not_found("document_id", document_id)
    return settle_upload(call, document)


def create_document(call: Call, params: Mapping[str, Any]) -> Reply:
    subject_record_id = text(params, "subject_record_id", prefix="sr")
    file_name = text(params, "file_name")
    size = params.get("file_size_in_bytes")
    if size is None:
        raise bad_request("file_size_in_bytes is required.")
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise bad_request("file_size_in_bytes must be a positive integer (the file's size).")
    if size > call.config.max_file_size:
        raise bad_request(
            f"file_size_in_bytes is {size}; files may be at most {call.config.max_file_size} bytes."
        )
    if len(file_name) > MAX_FILE_NAME or "/" in file_name or "\\" in file_name:
        raise bad_request(
            f"file_name must be a plain file name of at most {MAX_FILE_NAME} characters."
        )
    stem, dot, extension = file_name.rpartition(".")
    extension = extension.lower()
    allowed = call.config.allowed_extensions or call.state.allowed_extensions
    if not dot or not stem or extension not in allowed:
        raise bad_request(
            f"file_name {file_name!r} must end in one of the supported file types: "
            f"{', '.join('.' + e for e in sorted(allowed))}."
        )
    if call.state.subject_record(subject_record_id, call.account_id) is None:
        raise not_found("subject_record_id", subject_record_id)
    document_id = new_id("d")
    key = f"{subject_record_id}/{document_id}.{extension}"
    expires_at = call.now + call.config.form_lifetime
    content_type = allowed[extension]
    upload_url, fields = call.config.presign(key, content_type, size, document_id, expires_at)
    call.state.documents[document_id] = Document(
        document_id=document_id,
        subject_record_id=subject_record_id,
        file_name=file_name,
        file_size=size,
        content_type=content_type,
        key=key,
        uploaded_by=call.caller.api_key,
        form_expires_at=expires_at,
        created_at=call.stamp,
        updated_at=call.stamp,
    )
    call.state.changed()
    # In the order of the guide's example (the names' byte order); the form itself is sent
    # in the order the guide's upload examples use.
    presign_values = dict(sorted(fields))
    return Reply(
        {
            "document": {
                "document_id": document_id,
                "upload_url": upload_url,
                "presign_values": presign_values,
            }
        }
    )


def get_document(call: Call, params: Mapping[str, Any]) -> Reply:
    document = _document(call, text(params, "document_id", prefix="d"))
    return Reply({"document": document_json(document, call.config.hash_encoding)})


def list_documents(call: Call, params: Mapping[str, Any]) -> Reply:
    subject_record_id = text(params, "subject_record_id", prefix="sr")
    if call.state.subject_record(subject_record_id, call.account_id) is None:
        raise not_found("subject_record_id", subject_record_id)
    documents = [
        settle_upload(call, d)
        for d in list(call.state.documents.values())
        if d.subject_record_id == subject_record_id and d.deleted_at is None
    ]
    encoding = call.config.hash_encoding
    return Reply({"documents": [document_json(d, encoding, full=False) for d in documents]})


#: document.delete: "only the uploader may delete" (kompliant-api.md §5.7).
NOT_THE_UPLOADER = "Only the uploader of a document may delete it."


def delete_document(call: Call, params: Mapping[str, Any]) -> Reply:
    document = _document(call, text(params, "document_id", prefix="d"))
    if document.uploaded_by != call.caller.api_key:
        raise bad_request(NOT_THE_UPLOADER)
    if document.deleted_at is not None:
        return Reply()
    linked = [f for f in call.state.live_fulfillments() if f.document_id == document.document_id]
    if any(f.decision_status == "ACCEPTED" for f in linked):
        raise ApiError(
            "ENTITY_LINKED",
            f"Document {document.document_id} has an ACCEPTED fulfillment and cannot be deleted.",
        )
    state = call.state
    state.documents[document.document_id] = replace(
        document, deleted_at=call.stamp, updated_at=call.stamp
    )
    for item in linked:
        state.fulfillments[item.fulfillment_id] = replace(
            item, deleted_at=call.stamp, updated_at=call.stamp
        )
        refresh_status(state, item.required_document_id, call.stamp)
    state.changed()
    return Reply()
