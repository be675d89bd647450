"""The policy rules format as documented: `kms policy create --help` and `update --help` name
every rule kind, and every example in docs/policies.md (the README's "Policies" section
before it moved there: one a rule kind in its table, and the whole policy after
`<!-- policy-example -->`) is a policy the parser accepts, and the one `kms policy create`
stores. Read from that page, so they cannot drift."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from policy.rules import RULE_KEYS, policy_from_dict, policy_to_dict
from testkit.kms_process import kms, kms_json

POLICIES = Path(__file__).resolve().parents[2] / "docs" / "policies.md"
# A table row: | `key` | what it restricts | `{...}` |
ROW = re.compile(r"^\| `(\w+)` \|.*\| `(\{.*\})` \|$", re.MULTILINE)
WHOLE = re.compile(r"<!-- policy-example -->\n```json\n(.*?)\n```", re.DOTALL)


def _section() -> str:
    text = POLICIES.read_text()
    assert text.startswith("# Policies\n"), "docs/policies.md: not the Policies page"
    return text


def _table_examples() -> list[tuple[str, Any]]:
    return [(key, json.loads(example)) for key, example in ROW.findall(_section())]


def _whole_examples() -> list[Any]:
    return [json.loads(block) for block in WHOLE.findall(_section())]


def test_the_policies_page_has_one_example_for_each_rule_kind() -> None:
    examples = _table_examples()
    assert [key for key, _ in examples] == list(RULE_KEYS)
    for key, document in examples:
        assert list(document) == [key], f"the {key} row's example sets {list(document)}"
    assert _whole_examples(), "no <!-- policy-example --> block"


@pytest.mark.parametrize(
    "document",
    [document for _, document in _table_examples()] + _whole_examples(),
    ids=[key for key, _ in _table_examples()] + ["whole"] * len(_whole_examples()),
)
def test_each_policies_page_example_is_accepted(document: dict[str, Any]) -> None:
    parsed = policy_from_dict(document)
    assert policy_from_dict(policy_to_dict(parsed)) == parsed


@pytest.mark.parametrize("command", ["create", "update"])
def test_policy_help_shows_each_rule_kind(command: str) -> None:
    result = kms("policy", command, "--help")
    for key in RULE_KEYS:
        assert re.search(rf"^\s+{key}\s", result.stdout, re.MULTILINE), key
    assert "policy/rules.py" not in result.stdout  # the old pointer to the source
    assert "re:REGEX" in result.stdout and "*.example.com" in result.stdout


def test_kms_policy_create_stores_the_policies_page_policy(tmp_path: Path) -> None:
    [document] = _whole_examples()
    rules = tmp_path / "web-policy.json"
    rules.write_text(json.dumps(document))
    data_dir = ["--data-dir", str(tmp_path / "data")]
    created = kms_json("policy", "create", "--name", "web", "--rules", str(rules), *data_dir)
    assert created["rules"] == policy_to_dict(policy_from_dict(document))
