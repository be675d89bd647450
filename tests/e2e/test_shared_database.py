"""Many server processes, one PostgreSQL database (DESIGN.md "Scaling past one machine")."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from testkit.acme_client import AcmeClient
from testkit.kms_process import free_port, kms, running_server
from testkit.postgres import fresh_postgres_database


def test_s6_5_nonce_from_one_process_is_accepted_once_by_another(tmp_path: Path) -> None:
    port_a = free_port()
    external = f"http://127.0.0.1:{port_a}"
    with fresh_postgres_database() as url:
        kms("init", "--data-dir", str(tmp_path / "a"), "--database", url)
        # Both processes share the database and the KEK, as replicas behind a balancer would.
        (tmp_path / "b").mkdir(mode=0o700)
        (tmp_path / "b" / "kek.key").write_bytes((tmp_path / "a" / "kek.key").read_bytes())
        (tmp_path / "b" / "kek.key").chmod(0o600)
        common = ["--plain-http", "--external-url", external, "--database", url]
        with (
            running_server(tmp_path / "a", *common, port=port_a) as a,
            running_server(tmp_path / "b", *common) as b,
            a.client() as http_a,
            b.client() as http_b,
        ):
            client = AcmeClient(
                http_a,
                f"{external}/acme/default/directory",
                ec.generate_private_key(ec.SECP256R1()),
            )
            nonce = http_a.head(client.directory["newNonce"]).headers["Replay-Nonce"]
            # Sent to process B, with the URL every process publishes (the external one):
            client.http = http_b
            path = client.directory["newAccount"].removeprefix(external)
            first = client.post(
                b.base_url + path,
                {"termsOfServiceAgreed": True},
                use_jwk=True,
                header={"nonce": nonce, "url": external + path},
            )
            assert first.status_code == 201, first.text
            client.http = http_a
            replay = client.post(
                client.directory["newAccount"], {}, use_jwk=True, header={"nonce": nonce}
            )
            assert replay.status_code == 400
            assert replay.json()["type"] == "urn:ietf:params:acme:error:badNonce"
