"""Issue 13 §2: the destruction-verb fallback for programs no rule names (rules.d/fallback.yaml,
guardsh/engine/fallback.py) and HTTP/RPC clients that delete remotely (rules.d/http.yaml)."""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Callable

import pytest

from guardsh.engine.classify import Classifier
from guardsh.engine.config import Config
from guardsh.engine.examples import example_context
from guardsh.engine.model import Decision, Verdict
from guardsh.engine.rules import load_rules, rule_dirs

ALLOW, ASK = Decision.ALLOW, Decision.ASK

FALLBACK = [
    ("doctlx compute droplet delete web-1 --force", ASK),
    ("acme apps:destroy -a web --confirm web", ASK),
    ("newcli db drop main", ASK),
    ("mycli storage buckets rm gs://b", ASK),
    ("mycli delete-bucket --name b", ASK),
    ("mycli sync ./site s3x://bucket --delete", ASK),
    ("mycli cache flush", ASK),
    ("mycli tokens revoke tok_1", ASK),
    ("mycli package yank 1.2.3", ASK),
    ("mycli cluster teardown prod", ASK),
    ("sudo mycli users purge --all", ASK),
    ("bash -c 'mycli projects delete p1'", ASK),
    # dry runs, data and other verbs
    ("mycli projects delete p1 --dry-run", ALLOW),
    ("mycli projects list", ALLOW),
    ("mycli show delete.log", ALLOW),
    ("mycli get ./rm", ALLOW),
    ("mycli create reset-password-page", ALLOW),
    ("mycli 3 delete", ALLOW),
    ("mycli help delete", ALLOW),
    ("mycli delete --help", ALLOW),
    ("echo mycli projects delete p1", ALLOW),
    ("git commit -m 'mycli projects delete p1'", ALLOW),
    # programs that rules know are judged by their rules, not by the fallback
    ("mkdir delete", ALLOW),
    ("grep -r delete src", ALLOW),
]

HTTP = [
    ("curl -X DELETE https://api.example.com/v1/users/3", ASK),
    ("curl -sS -XDELETE -H 'Authorization: Bearer t' https://es.example.com:9200/logs-2024", ASK),
    ("curl --request DELETE https://api.stripe.com/v1/customers/cus_1", ASK),
    ("wget --method=DELETE https://api.example.com/items/1", ASK),
    ("http DELETE https://api.example.com/users/3", ASK),
    ("xh delete api.example.com/items/9", ASK),
    ("curl -X POST https://es.example.com:9200/logs/_delete_by_query -d '{}'", ASK),
    ("curl -d '{}' https://api.example.com/db/reset", ASK),
    ("curl -X PUT https://api.example.com/v2/bulk_delete", ASK),
    ("grpcurl -d '{\"id\": 3}' api.example.com:443 users.v1.UserService/DeleteUser", ASK),
    ("gh api -X DELETE repos/acme/web", ASK),
    ("gh api --method DELETE /repos/acme/web/git/refs/heads/old", ASK),
    ("glab api -X DELETE projects/42", ASK),
    # loopback, reads, other endpoints
    ("curl -X DELETE http://localhost:8080/items/1", ALLOW),
    ("curl -X DELETE http://127.0.0.1:9200/test", ALLOW),
    ("http DELETE localhost:8000/items/1", ALLOW),
    ("curl https://api.example.com/v1/users/3", ALLOW),
    ("curl -X POST https://api.example.com/v1/users -d '{}'", ALLOW),
    ("curl -X POST https://api.dropboxapi.com/2/files/upload", ALLOW),
    ("curl https://example.com/docs/reset-guide.html", ALLOW),
    ("grpcurl api.example.com:443 list", ALLOW),
    ("gh api repos/acme/web", ALLOW),
]


@pytest.mark.parametrize("command,expected", FALLBACK + HTTP, ids=[c[:70] for c, _ in FALLBACK + HTTP])
def test_fallback_and_http(classify: Callable[[str], Verdict], command: str, expected: Decision) -> None:
    verdict = classify(command)
    assert verdict.decision == expected, (verdict.risk.label, [m.rule for m in verdict.matches])


def test_users_extend_the_fallback(tmp_path: Path) -> None:
    user = tmp_path / "rules.d"
    user.mkdir()
    (user / "mine.yaml").write_text(textwrap.dedent("""\
        fallback:
          verbs: [decommission-now, zap]
          dry_run: {mycli: [-p]}
          examples: {hit: ["mycli nodes zap n1"], miss: ["mycli nodes zap n1 -p"]}
        """))
    classifier = Classifier(load_rules([rule_dirs()[0], str(user)], use_cache=False), Config())
    ctx = example_context()
    assert classifier.classify("mycli nodes zap n1", ctx).decision == Decision.ASK
    assert classifier.classify("mycli nodes zap n1 -p", ctx).decision == Decision.ALLOW
    assert classifier.classify("othercli nodes zap n1 -p", ctx).decision == Decision.ASK  # -p is mycli's only
    assert classifier.classify("mycli nodes delete n1", ctx).decision == Decision.ASK  # the packaged words stay


def test_the_fallback_can_be_disabled_by_rule_id() -> None:
    ruleset = load_rules([rule_dirs()[0]], use_cache=False, check_examples=False)
    classifier = Classifier(ruleset, Config({"disabled_rules": ["unknown-program-destroys"]}))
    assert classifier.classify("mycli projects delete p1", example_context()).decision == Decision.ALLOW
