import json
import re
from pathlib import Path

from auditbook.checks.registry import READ_ONLY_ACTION, load_checks
from auditbook.iam_policy import read_only_policy, required_actions

README = Path(__file__).parents[1] / "README.md"


def readme_policy() -> dict:
    text = README.read_text(encoding="utf-8")
    block = re.search(
        r"<!-- iam-policy:start -->\s*```json\n(.*?)```\s*<!-- iam-policy:end -->",
        text,
        re.DOTALL,
    )
    assert block, "README.md has no generated IAM policy block"
    return json.loads(block.group(1))


def test_readme_policy_matches_registry():
    assert readme_policy() == read_only_policy(load_checks().values())


def test_every_action_is_read_only():
    actions = required_actions(load_checks().values())

    assert [a for a in actions if not READ_ONLY_ACTION.match(a)] == []


def test_policy_has_no_wildcard_actions():
    actions = required_actions(load_checks().values())

    assert all("*" not in action for action in actions)
