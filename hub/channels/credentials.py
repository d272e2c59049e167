"""The provider simulator's own credentials: one set per instance folder, made once, kept 0600.

The hub is configured with these exactly as it would be with real Twilio and SendGrid accounts, so
the same code path (SDKs, signature checks) runs against the simulator and against the providers.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

# Checked with phonenumbers: a valid US number (NANP 555-01xx is reserved for fiction).
SIM_FROM_NUMBER = "+12025550143"
SIM_FROM_EMAIL = "hub@sim.contact-hub.example"


@dataclass(frozen=True)
class SimCredentials:
    account_sid: str  # "AC" + 32 hex
    auth_token: str  # 32 hex
    sendgrid_api_key: str  # "SG." + id + "." + secret
    webhook_private_key_pem: str  # ECDSA P-256, PKCS#8 PEM: signs the SendGrid event batches
    webhook_public_key: str  # base64 DER SubjectPublicKeyInfo, as SendGrid's console shows it
    inbound_email_secret: str  # urlsafe; the Inbound Parse URL's only guard
    from_number: str
    from_email: str

    def private_key(self) -> ec.EllipticCurvePrivateKey:
        key = serialization.load_pem_private_key(self.webhook_private_key_pem.encode(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("the simulator's webhook key is not an elliptic-curve key")
        return key


def generate() -> SimCredentials:
    """A fresh, random set of credentials."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return SimCredentials(
        account_sid="AC" + secrets.token_hex(16),
        auth_token=secrets.token_hex(16),
        sendgrid_api_key=f"SG.{secrets.token_urlsafe(16)}.{secrets.token_urlsafe(32)}",
        webhook_private_key_pem=pem,
        webhook_public_key=base64.b64encode(der).decode(),
        inbound_email_secret=secrets.token_urlsafe(24),
        from_number=SIM_FROM_NUMBER,
        from_email=SIM_FROM_EMAIL,
    )


def credentials_path(instance_dir: Path) -> Path:
    return Path(instance_dir) / "simulator" / "credentials.json"


def _read(path: Path) -> SimCredentials:
    data = json.loads(path.read_text(encoding="utf-8"))
    names = {f.name for f in fields(SimCredentials)}
    missing = sorted(names - set(data))
    if missing:
        # Never regenerate over a damaged file: the hub may already be configured with it.
        raise ValueError(f"{path} lacks {', '.join(missing)}; delete it to make new credentials")
    return SimCredentials(**{k: str(data[k]) for k in names})


def load_or_create(instance_dir: Path) -> SimCredentials:
    """The instance's simulator credentials, created on first use.

    Two processes starting together end up with one set: each writes a complete file of its own
    (O_EXCL, 0600) and hard-links it into place; linking fails if the name exists, so the loser
    reads the winner's file, which is complete by then.
    """
    path = credentials_path(instance_dir)
    if path.exists():
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    creds = generate()
    tmp = path.with_name(f".credentials.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(creds), fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return _read(path)
    finally:
        tmp.unlink(missing_ok=True)
    return creds
