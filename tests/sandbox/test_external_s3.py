"""ExternalS3 against a real S3-compatible server on loopback (moto's server).

moto enforces nothing of a POST policy (test-infra.md), so these tests check the shape of
the presigned form and that completion is learnt from the store — not S3's refusals,
which tests/sandbox/test_s3post.py covers against the built-in endpoint.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.errors import CannotSucceed, NetworkError
from agent.sandbox.external_s3 import ExternalS3
from agent.sandbox.s3policy import FormSpec

KEY = "sr_DemoSubject000000000001/d_0001.pdf"
CONTENT = b"%PDF-1.7 proof of address\n" * 100
BUCKET = "kompliant-uploads"


def _spec(size: int = len(CONTENT), key: str = KEY) -> FormSpec:
    return FormSpec(key, "application/pdf", size, "d_0001", time.time() + 300)


def test_missing_boto3_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # makes `import boto3` fail
    with pytest.raises(CannotSucceed) as caught:
        ExternalS3("http://127.0.0.1:1", BUCKET, "AKIA", "secret")
    assert caught.value.code == "S3_EXTRA_MISSING"
    assert "pip install 'kompliant-agent[s3]'" in caught.value.describe()


@pytest.fixture
def store(endpoint: str, request: pytest.FixtureRequest) -> ExternalS3:
    bucket = f"{BUCKET}-{request.node.name.lower().replace('_', '-')[:30]}"
    s3 = ExternalS3(endpoint, bucket, "AKIAEXAMPLE", "example-secret-key", "us-east-1")
    s3.ensure_bucket()
    s3.ensure_bucket()  # a second call finds it and does nothing
    return s3


def _post(url: str, fields: list[tuple[str, str]], content: bytes) -> httpx.Response:
    return httpx.post(url, data=dict(fields), files={"file": ("s.pdf", content, "application/pdf")})


def test_presigned_form_shape(store: ExternalS3, endpoint: str) -> None:
    now = time.time()
    url, fields = store.presign(
        FormSpec(KEY, "application/pdf", 2600, "d_0001", now + 300), now=now
    )

    assert url == f"{endpoint}/{store.bucket}"
    names = [name.lower() for name, _ in fields]
    assert names == [
        "content-type",
        "key",
        "policy",
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-signature",
        "x-amz-meta-document-id",
    ]
    values = {name.lower(): value for name, value in fields}
    assert values["key"] == KEY
    assert values["content-type"] == "application/pdf"
    assert values["x-amz-meta-document-id"] == "d_0001"
    assert values["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert values["x-amz-credential"].startswith("AKIAEXAMPLE/")
    assert "example-secret-key" not in json.dumps(fields)

    policy = json.loads(base64.b64decode(values["policy"]))
    conditions = policy["conditions"]
    assert {"bucket": store.bucket} in conditions
    assert {"key": KEY} in conditions
    assert ["eq", "$Content-Type", "application/pdf"] in conditions
    assert ["eq", "$x-amz-meta-document-id", "d_0001"] in conditions
    assert ["content-length-range", 2600, 2600] in conditions
    expires = calendar.timegm(time.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ"))
    assert now + 290 <= expires <= now + 310


def test_completion_is_learnt_from_the_store(store: ExternalS3) -> None:
    assert store.stored(KEY) is None

    url, fields = store.presign(_spec(), now=time.time())
    response = _post(url, fields, CONTENT)
    assert response.status_code == 204, response.text

    stored = store.stored(KEY)
    assert stored is not None
    assert (stored.key, stored.size, stored.document_id) == (KEY, len(CONTENT), "d_0001")
    assert stored.sha256_hex == hashlib.sha256(CONTENT).hexdigest()
    assert stored.path == Path(store.bucket, *KEY.split("/"))


def test_hash_is_computed_once_per_object_version(
    store: ExternalS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, fields = store.presign(_spec(), now=time.time())
    assert _post(url, fields, CONTENT).status_code == 204

    downloads: list[str] = []
    real_get = store._client.get_object

    def counting_get(**kwargs: Any) -> Any:
        downloads.append(kwargs["Key"])
        return real_get(**kwargs)

    monkeypatch.setattr(store._client, "get_object", counting_get)
    first = store.stored(KEY)
    assert store.stored(KEY) == first
    assert downloads == [KEY]

    changed = CONTENT.replace(b"address", b"ADDRESS")
    url, fields = store.presign(_spec(), now=time.time())
    assert _post(url, fields, changed).status_code == 204
    again = store.stored(KEY)
    assert again is not None and again.sha256_hex == hashlib.sha256(changed).hexdigest()
    assert downloads == [KEY, KEY]


def test_unreachable_store_is_a_network_error() -> None:
    pytest.importorskip("boto3")
    s3 = ExternalS3("http://127.0.0.1:9", BUCKET, "AKIAEXAMPLE", "example-secret-key")
    with pytest.raises(NetworkError) as caught:
        s3.stored(KEY)
    assert "http://127.0.0.1:9" in caught.value.describe()
    assert "example-secret-key" not in caught.value.describe()
