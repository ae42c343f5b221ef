import base64
import json

import pytest

from auditbook.errors import EvidenceError
from auditbook.evidence import EvidenceStore
from auditbook.models import Finding, Status
from auditbook.signing import KmsSigner

RUN_ID = "20261204T100000.000Z-abcdef"


def signing_key(aws, spec: str = "RSA_2048") -> str:
    key = aws.client("kms").create_key(KeyUsage="SIGN_VERIFY", KeySpec=spec)
    return key["KeyMetadata"]["Arn"]


def write_signed(aws, settings, key_id):
    store = EvidenceStore(settings.evidence_dir)
    finding = Finding("aws.x.y", "123456789012", "global", "r", Status.PASS, "Fine.")
    signer = KmsSigner(aws.client("kms"), key_id).sign
    with store.lock():
        return store.write_run(RUN_ID, [finding], {"started_at": "x"}, None, signer)


@pytest.mark.parametrize("spec", ["RSA_2048", "ECC_NIST_P256"])
def test_signed_run_verifies_offline(aws, settings, spec):
    key_id = signing_key(aws, spec)

    run = write_signed(aws, settings, key_id)

    assert run.signed_by() == key_id
    assert run.verify() == []
    assert (
        (run.path / "signing-public-key.pem")
        .read_text()
        .startswith("-----BEGIN PUBLIC KEY-----")
    )


def test_altered_manifest_breaks_signature(aws, settings):
    run = write_signed(aws, settings, signing_key(aws))
    manifest = json.loads((run.path / "manifest.json").read_text())
    manifest["note"] = "edited"
    (run.path / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(EvidenceError, match="the manifest was altered"):
        run.signed_by()


def test_forged_signature_rejected(aws, settings):
    run = write_signed(aws, settings, signing_key(aws))
    signature = json.loads((run.path / "signature.json").read_text())
    forged = bytearray(base64.b64decode(signature["signature"]))
    forged[10] ^= 0xFF
    signature["signature"] = base64.b64encode(bytes(forged)).decode()
    (run.path / "signature.json").write_text(json.dumps(signature))

    problems = run.verify()

    assert [p.file for p in problems] == ["signature.json"]
    assert "does not verify" in problems[0].problem


def test_encryption_key_cannot_sign(aws, settings):
    key_id = aws.client("kms").create_key()["KeyMetadata"]["Arn"]

    with pytest.raises(EvidenceError):
        write_signed(aws, settings, key_id)

    assert EvidenceStore(settings.evidence_dir).latest_id() is None
