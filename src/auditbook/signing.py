"""Sign an evidence run's manifest with an AWS KMS asymmetric key, verify offline.

KMS signs a short statement naming the run id and the SHA-256 of
``manifest.json``, which in turn hashes every evidence file. The signature and
the key's public half are stored beside the manifest, so anyone can verify a
run without AWS access: the manifest's hash must match the statement, and the
public key must accept the signature over it.

Signing calls ``kms:GetPublicKey`` and ``kms:Sign``; neither changes anything
in the account.
"""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from auditbook.errors import EvidenceError

logger = logging.getLogger(__name__)

SIGNATURE_FILE = "signature.json"
PUBLIC_KEY_FILE = "signing-public-key.pem"
SIGNING_FILES = frozenset({SIGNATURE_FILE, PUBLIC_KEY_FILE})

# Preferred algorithms, in order, among those the key offers.
_ALGORITHMS = (
    "RSASSA_PSS_SHA_256",
    "ECDSA_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_256",
)


def statement(run_id: str, manifest_sha256: str) -> bytes:
    """Return the exact bytes that are signed for a run."""
    data = {"manifest_sha256": manifest_sha256, "run_id": run_id}
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


class KmsSigner:
    """Sign run statements with one KMS asymmetric key."""

    def __init__(self, kms_client: Any, key_id: str) -> None:
        self.client = kms_client
        self.key_id = key_id

    def sign(self, run_id: str, manifest_sha256: str) -> dict[str, bytes]:
        """Return the signature and public-key files for a run.

        Raises:
            EvidenceError: the key is unusable for signing or KMS refused.
        """
        try:
            public = self.client.get_public_key(KeyId=self.key_id)
            algorithm = _choose(public.get("SigningAlgorithms", []), self.key_id)
            message = statement(run_id, manifest_sha256)
            response = self.client.sign(
                KeyId=self.key_id,
                Message=message,
                MessageType="RAW",
                SigningAlgorithm=algorithm,
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "ClientError")
            raise EvidenceError(
                f"KMS signing with {self.key_id} failed with {code}; check that "
                "the key is an enabled asymmetric SIGN_VERIFY key and that the "
                "caller may use kms:Sign and kms:GetPublicKey"
            ) from exc
        except BotoCoreError as exc:
            raise EvidenceError(
                f"KMS signing with {self.key_id} failed: {exc}"
            ) from exc

        pem = serialization.load_der_public_key(public["PublicKey"]).public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        signature = {
            "key_id": response["KeyId"],
            "algorithm": response["SigningAlgorithm"],
            "run_id": run_id,
            "manifest_sha256": manifest_sha256,
            "signature": base64.b64encode(response["Signature"]).decode(),
        }
        logger.info("signed run %s with KMS key %s", run_id, response["KeyId"])
        return {
            SIGNATURE_FILE: (json.dumps(signature, indent=2) + "\n").encode(),
            PUBLIC_KEY_FILE: pem,
        }


def _choose(offered: list[str], key_id: str) -> str:
    for algorithm in _ALGORITHMS:
        if algorithm in offered:
            return algorithm
    raise EvidenceError(
        f"KMS key {key_id} offers none of {', '.join(_ALGORITHMS)}; use an RSA or "
        "ECC_NIST_P256 key with key usage SIGN_VERIFY"
    )


def verify_signature(run_path: Path, run_id: str, manifest_sha256: str) -> str | None:
    """Check a run's signature offline with the stored public key.

    Returns:
        None when the run is not signed, else the signing key id.

    Raises:
        EvidenceError: the signature does not match the manifest or the key.
    """
    signature_path = run_path / SIGNATURE_FILE
    if not signature_path.exists():
        return None
    try:
        signed = json.loads(signature_path.read_text(encoding="utf-8"))
        public_key = serialization.load_pem_public_key(
            (run_path / PUBLIC_KEY_FILE).read_bytes()
        )
        signature = base64.b64decode(signed["signature"])
    except (OSError, ValueError, KeyError) as exc:
        raise EvidenceError(f"{signature_path}: unreadable signature ({exc})") from exc

    if (
        signed.get("manifest_sha256") != manifest_sha256
        or signed.get("run_id") != run_id
    ):
        raise EvidenceError(
            f"{signature_path}: signed for another manifest; the manifest was altered"
        )

    message = statement(run_id, manifest_sha256)
    try:
        _verify(public_key, signed.get("algorithm", ""), signature, message)
    except InvalidSignature as exc:
        raise EvidenceError(
            f"{signature_path}: the signature does not verify with "
            f"{PUBLIC_KEY_FILE}; the signature or the manifest was altered"
        ) from exc
    return str(signed.get("key_id"))


def _verify(public_key: Any, algorithm: str, signature: bytes, message: bytes) -> None:
    if algorithm == "RSASSA_PSS_SHA_256" and isinstance(public_key, rsa.RSAPublicKey):
        pss = padding.PSS(
            mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO
        )
        public_key.verify(signature, message, pss, hashes.SHA256())
    elif algorithm == "RSASSA_PKCS1_V1_5_SHA_256" and isinstance(
        public_key, rsa.RSAPublicKey
    ):
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    elif algorithm == "ECDSA_SHA_256" and isinstance(
        public_key, ec.EllipticCurvePublicKey
    ):
        public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    else:
        raise InvalidSignature(f"algorithm {algorithm!r} does not fit the public key")
