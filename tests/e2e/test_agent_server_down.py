"""`kms cert-manager agent` while its server is down in the renewal window: it keeps the
old files, retries with backoff, says so in `status`, and renews once the server is back
(a real agent and real `kms serve` processes, as in test_agent.py)."""

from __future__ import annotations

import json
from pathlib import Path

from testkit.kms_process import free_port, kms, kms_json, running_server
from tests.e2e.agent_support import (
    AgentProcess,
    Env,
    check_pair,
    issued_serials,
    outputs,
    serial_of,
    write_config,
)


def test_server_down_in_the_renew_window_keeps_the_old_files_then_renews(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    out = tmp_path / "out"
    out.mkdir()
    hook_log = tmp_path / "hook.log"
    files = outputs(out, "web")
    cert = {
        "name": "web",
        "profile": "default",
        "common-name": "web.agent.test",
        "alt-names": ["web.agent.test"],
        "ttl": "30s",  # from issuance; a 90 s lifetime with the backdated minute
        "renew-before": "22s",
        "file-output": files,
        "post-renewal": {"command": f'echo "$KMS_AGENT_SERIAL" >> {hook_log}'},
    }
    with running_server(data_dir, port=port) as server:
        identity = kms_json(
            "identity", "create", "--name", "agent", "--all-profiles", "--data-dir", str(data_dir)
        )
        env = Env(server, 0, identity["clientId"], identity["clientSecret"])
        config = write_config(tmp_path / "agent.yaml", env, [cert])
        process = AgentProcess(config, env)
        process.wait_for(lambda: bool(issued_serials(process, "web")), "first issuance")
    try:
        first = issued_serials(process, "web")[0]
        # the server is down; the renewal window opens about 8 s after issuance
        process.wait_for(
            lambda: len([e for e in process.named("certificate.failed") if e["transient"]]) >= 3,
            "failed renewal attempts",
        )
        assert serial_of(files["certificate"]) == first
        check_pair(env, files, ["web.agent.test"])
        failures = [e for e in process.named("certificate.failed") if e["transient"]]
        assert all(e["kept"] == first for e in failures)
        status = kms("cert-manager", "agent", "status", "--config", str(config), "--json",
                     env={"AGENT_TEST_SECRET": env.client_secret})  # fmt: skip
        (row,) = json.loads(status.stdout)
        assert row["serialNumber"] == first and row["state"] == "renewal due"
        assert "ConnectError" in row["lastError"]
        delays = [e["retryIn"] for e in failures]
        assert all(0.5 <= d <= 2.0 for d in delays), delays
        with running_server(data_dir, port=port) as server:
            env.server = server
            process.wait_for(lambda: len(issued_serials(process, "web")) >= 2, "the renewal")
            renewed = issued_serials(process, "web")[1]
            assert serial_of(files["certificate"]) == renewed
            check_pair(env, files, ["web.agent.test"])
            process.stop()
    finally:
        process.stop()
    ran = hook_log.read_text().split()
    assert sorted(ran) == sorted(issued_serials(process, "web"))  # once per certificate
