"""rules.d/paas.yaml: heroku, fly/flyctl, vercel, netlify, railway and supabase commands.

Commands come from each CLI's reference and getting-started guides (beyond the rule examples),
plus wrappers and look-alikes.
"""
from __future__ import annotations

from typing import Callable

import pytest

from guardsh.engine.model import Decision, Verdict

from rulepack import case_ids as _ids
from rulepack import check_docs_entry
from rulepack import docs_more as _docs_more

RO, REV, DES, CAT = "read-only", "reversible", "destructive", "catastrophic"
TOOL = "paas"  # its entries in tests/corpus/docs_more.yaml

CASES = [
    # --- heroku ---
    ("heroku apps --all", RO),
    ("heroku apps:info --app example-app", RO),
    ("heroku logs -n 200 --app example-app", RO),
    ("heroku logs --source app --dyno web.1 -t", RO),
    ("heroku ps --app example-app", RO),
    ("heroku config:get DATABASE_URL -a example-app", RO),
    ("heroku releases:info v12 -a example-app", RO),
    ("heroku pg:info DATABASE_URL -a example-app", RO),
    ("heroku pg:diagnose -a example-app", RO),
    ("heroku pg:backups -a example-app", RO),
    ("heroku addons:info heroku-postgresql -a example-app", RO),
    ("heroku domains -a example-app", RO),
    ("heroku access -a example-app", RO),
    ("heroku apps:destroy --help", RO),
    ("heroku create example-app --region eu", REV),
    ("heroku git:remote -a example-app", REV),
    ("heroku config:set S3_BUCKET=my-bucket NODE_ENV=production -a example-app", REV),
    ("heroku ps:scale web=2:standard-2x worker=1 -a example-app", REV),
    ("heroku ps:restart web -a example-app", REV),
    ("heroku ps:type web=standard-2x -a example-app", REV),
    ("heroku addons:create heroku-redis:mini -a example-app", REV),
    ("heroku pg:backups:capture --app example-app", REV),
    ("heroku pg:backups:schedule DATABASE_URL --at '02:00 America/Los_Angeles' -a example-app", REV),
    ("heroku maintenance:off -a example-app", REV),
    ("heroku domains:add www.example.com -a example-app", REV),
    ("heroku buildpacks:set heroku/python -a example-app", REV),
    ("heroku run python manage.py migrate -a example-app", REV),
    ("heroku apps:destroy example-app --confirm example-app", DES),
    ("heroku apps:destroy --app example-app", DES),
    ("heroku pg:reset DATABASE --confirm example-app", DES),
    ("heroku pg:backups:restore 'https://s3.amazonaws.com/bucket/db.dump' DATABASE_URL -a example-app", DES),
    ("heroku pg:copy example-app::HEROKU_POSTGRESQL_ORANGE_URL GREEN --app example-staging", DES),
    ("heroku pg:promote HEROKU_POSTGRESQL_GRAY_URL -a example-app", DES),
    ("heroku addons:destroy heroku-redis -a example-app", DES),
    ("heroku ps:scale web=0 worker=0 -a example-app", DES),
    ("heroku releases:rollback -a example-app", DES),
    ("heroku maintenance:on --app example-app", DES),
    ("heroku config:unset S3_BUCKET -a example-app", DES),
    ("heroku access:remove user@example.com --app example-app", DES),
    ("heroku domains:clear -a example-app", DES),
    # --- fly.io ---
    ("fly status --app example-app", RO),
    ("flyctl logs -a example-app", RO),
    ("fly machine list -a example-app", RO),
    ("fly volumes list -a example-app", RO),
    ("fly secrets list", RO),
    ("fly ips list", RO),
    ("fly scale show -a example-app", RO),
    ("fly launch --no-deploy", REV),
    ("fly deploy --strategy rolling", REV),
    ("fly deploy --image registry.fly.io/example-app:v2", REV),
    ("fly scale count 2 --region ord", REV),
    ("fly scale vm shared-cpu-2x", REV),
    ("fly scale memory 1024", REV),
    ("fly volumes create data --size 10 --region ord", REV),
    ("fly volumes extend vol_123 --size 20", REV),
    ("fly machine restart 148ed726c4d5d8", REV),
    ("fly secrets set API_KEY=abc123 -a example-app", REV),
    ("fly apps destroy example-app --yes", DES),
    ("fly volumes destroy vol_123 --yes", DES),
    ("fly volume delete vol_123", DES),
    ("fly machine destroy 148ed726c4d5d8 --force", DES),
    ("fly machines remove 148ed726c4d5d8", DES),
    ("fly scale count 0 -a example-app --yes", DES),
    ("fly secrets unset API_KEY -a example-app", DES),
    ("fly postgres destroy example-db", DES),
    ("fly ips release 2a09:8280:1::1 -a example-app", DES),
    # --- vercel ---
    ("vercel ls example-project", RO),
    ("vercel inspect https://example-app.vercel.app --logs", RO),
    ("vercel env ls production", RO),
    ("vercel domains ls", RO),
    ("vercel whoami", RO),
    ("vercel", REV),
    ("vercel deploy --prod", REV),
    ("vercel --prod --yes", REV),
    ("vercel env add DATABASE_URL production", REV),
    ("vercel env pull .env.local", REV),
    ("vercel link --yes", REV),
    ("vercel promote https://example-app-abc123.vercel.app", REV),
    ("vercel rm example-app-abc123.vercel.app", DES),
    ("vercel remove example-project --safe --yes", DES),
    ("vercel env rm DATABASE_URL production --yes", DES),
    ("vercel project rm example-project", DES),
    ("vercel domains rm example.com --yes", DES),
    ("vercel alias rm example.com", DES),
    ("vercel rollback https://example-app-abc123.vercel.app", DES),
    # --- netlify ---
    ("netlify status", RO),
    ("netlify sites:list", RO),
    ("netlify env:list --context production", RO),
    ("netlify env:get API_KEY", RO),
    ("netlify api listSiteDeploys --data '{\"site_id\": \"1234\"}'", RO),
    ("netlify deploy", REV),
    ("netlify deploy --prod --dir=dist", REV),
    ("netlify env:set API_KEY abc123 --context production", REV),
    ("netlify link --id 1234", REV),
    ("netlify sites:create --name example-site", REV),
    ("netlify sites:delete 1234 --force", DES),
    ("netlify env:unset API_KEY --context production", DES),
    ("netlify api deleteDeploy --data '{\"deploy_id\": \"abc\"}'", DES),
    # --- railway ---
    ("railway status", RO),
    ("railway logs --deployment", RO),
    ("railway whoami", RO),
    ("railway login", REV),
    ("railway init", REV),
    ("railway up --detach", REV),
    ("railway link", REV),
    ("railway variables --set API_KEY=abc123", REV),
    ("railway run npm start", REV),
    ("railway down --yes", DES),
    ("railway environment delete staging", DES),
    ("railway volume delete --volume pgdata", DES),
    # --- supabase ---
    ("supabase status", RO),
    ("supabase projects list", RO),
    ("supabase migration list --linked", RO),
    ("supabase db diff -f new_table", RO),
    ("supabase db dump --data-only -f seed.sql", RO),
    ("supabase db push --dry-run", RO),
    ("supabase init", REV),
    ("supabase start", REV),
    ("supabase stop", REV),
    ("supabase login", REV),
    ("supabase link --project-ref abcdefghijklmnopqrst", REV),
    ("supabase migration new create_users", REV),
    ("supabase db reset", REV),
    ("supabase functions deploy hello-world --no-verify-jwt", REV),
    ("supabase secrets set STRIPE_KEY=sk_test_123", REV),
    ("supabase gen types typescript --linked > types.ts", REV),
    ("supabase db reset --linked --debug", DES),
    ("supabase db reset --db-url \"$DATABASE_URL\"", DES),
    ("supabase projects delete abcdefghijklmnopqrst", DES),
    ("supabase functions delete hello-world --project-ref abcdefghijklmnopqrst", DES),
    ("supabase secrets unset STRIPE_KEY", DES),
]

WRAPPERS = [
    ("sudo heroku apps:destroy -a example-app --confirm example-app", DES),
    ("bash -c 'fly apps destroy example-app -y'", DES),
    ("npx vercel rm example-project --yes", DES),  # npx runs its tail (rules.d/runners.yaml)
    ("timeout 30 heroku pg:reset DATABASE --confirm example-app", DES),
    ("HEROKU_APP=example-app heroku ps:scale web=0", DES),
    # look-alikes
    ("echo heroku apps:destroy -a example-app", RO),
    ("grep -rn 'fly apps destroy' docs/", RO),
    ("git commit -m 'vercel rm old previews'", REV),
    ("heroku logs -a example-app | grep destroy", RO),
    ("heroku apps:info -a destroy-me", RO),
    ("fly status -a rm-test", RO),
    ("vercel inspect rm-test.vercel.app", RO),
    ("fly apps destroy --help", RO),
    ("vercel rm -h", RO),
    ("supabase db reset --help", RO),
]


@pytest.mark.parametrize(("command", "expected"), CASES, ids=_ids(CASES))
def test_paas_reference_commands(classify: Callable[[str], Verdict], command: str, expected: str) -> None:
    verdict = classify(command)
    assert verdict.risk.label == expected, [m.to_json() for m in verdict.matches]


@pytest.mark.parametrize(("command", "expected"), WRAPPERS, ids=_ids(WRAPPERS))
def test_paas_wrappers_and_look_alikes(classify: Callable[[str], Verdict], command: str, expected: str) -> None:
    verdict = classify(command)
    assert verdict.risk.label == expected, [m.to_json() for m in verdict.matches]


def test_decisions(classify: Callable[[str], Verdict]) -> None:
    assert classify("heroku logs --tail -a example-app").decision == Decision.ALLOW
    assert classify("fly deploy").decision == Decision.ALLOW
    assert classify("heroku pg:reset DATABASE --confirm example-app").decision == Decision.ASK
    assert classify("supabase db reset").decision == Decision.ALLOW
    assert classify("supabase db reset --linked").decision == Decision.ASK


def test_paas_run_commands_are_classified(classify: Callable[[str], Verdict]) -> None:
    assert classify("heroku run rm -rf /app/storage -a example-app").decision == Decision.ASK


def test_package_runner_is_unwrapped(classify: Callable[[str], Verdict]) -> None:
    assert classify("npx vercel rm example-project --yes").decision == Decision.ASK


# --- tests/corpus/docs_more.yaml: documentation commands labelled before the rules were written ---

@pytest.mark.parametrize("entry", _docs_more(TOOL), ids=lambda e: " ".join(e["command"].split())[:70])
def test_docs_more_corpus(classify: Callable[[str], Verdict], entry: dict[str, str]) -> None:
    """Read-only is allowed, destructive asks, catastrophic is denied (reversible is allowed too)."""
    check_docs_entry(classify, entry)

