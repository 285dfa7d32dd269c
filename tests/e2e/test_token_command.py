"""`psgraph token` prints one token for the persona asked for, signed by the identity
provider its config trusts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jwt

from sandboxes.harness.processes import write_config
from sandboxes.runner import SandboxCluster


def psgraph(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_token_prints_a_signed_token_for_the_persona(
    sandboxes: SandboxCluster, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "psgraph.yaml", sandboxes)

    done = psgraph(
        "token", "--config", str(config), "--role", "client", "--client", "Q2xpZW50OjE",
        "--sub", "portal@acme", "--ttl", "600",
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    key = jwt.PyJWKClient(f"{sandboxes['idp'].url}/oauth2/v1/keys").get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key, algorithms=["RS256", "ES256"], audience="psgraph")
    assert claims["sub"] == "portal@acme"
    assert claims["roles"] == ["client"]
    assert claims["client_id"] == "Q2xpZW50OjE"
    assert claims["iss"] == sandboxes["idp"].url
    assert claims["exp"] - claims["iat"] == 600


def test_token_refuses_an_unknown_role(sandboxes: SandboxCluster, tmp_path: Path) -> None:
    config = write_config(tmp_path / "psgraph.yaml", sandboxes)

    done = psgraph("token", "--config", str(config), "--role", "superuser")

    assert done.returncode != 0
    assert "unknown roles" in done.stderr + done.stdout
