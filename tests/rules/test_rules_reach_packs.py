"""Issue 13 §4: the rule packs for tools no rule covered before (registries.yaml, systemd.yaml,
git-more.yaml, frameworks.yaml, secrets.yaml, storage.yaml, disks.yaml, vms-messaging.yaml,
paas-cdn-dns.yaml, db-restores.yaml, gh.yaml), with look-alikes that must stay allowed.
Commands follow each tool's documentation."""
from __future__ import annotations

from typing import Callable

import pytest

from guardsh.engine.model import Decision, Verdict

ALLOW, ASK, DENY = Decision.ALLOW, Decision.ASK, Decision.DENY

CASES = [
    # package registries
    ("npm unpublish mypkg@1.0.0", ASK), ("npm deprecate mypkg@'< 2' 'use v2'", ASK), ("npm dist-tag rm mypkg beta", ASK),
    ("npm owner rm bob mypkg", ASK), ("npm token revoke abc123", ASK), ("yarn npm unpublish", ASK),
    ("gem yank mygem -v 1.0.0", ASK), ("cargo yank --version 1.0.0 mycrate", ASK), ("twine upload dist/*", ASK),
    ("python -m twine upload dist/*", ASK), ("npm publish", ASK), ("cargo publish --dry-run", ALLOW),
    ("npm view mypkg versions", ALLOW), ("npm dist-tag ls mypkg", ALLOW), ("twine check dist/*", ALLOW),
    # crontab
    ("crontab jobs.txt", ASK), ("echo '* * * * * backup' | crontab -", ASK), ("crontab -r", ASK),
    ("crontab -l", ALLOW), ("crontab -l > cron.bak", ALLOW),
    # systemd
    ("systemctl revert sshd", ASK), ("systemctl preset-all", ASK), ("systemctl suspend", ASK), ("systemctl hibernate", ASK),
    ("systemctl --user clean --what=state syncthing", ASK), ("systemctl --user mask --now pipewire", ASK),
    ("sudo systemctl isolate rescue.target", ASK), ("journalctl --vacuum-time=2d", ASK),
    ("systemctl --user status pipewire", ALLOW), ("systemctl --user restart pipewire", ALLOW),
    # git plumbing and git-extras
    ("git read-tree --reset -u HEAD", ASK), ("git checkout-index -f -a", ASK), ("git update-ref -d refs/heads/main", ASK),
    ("git gc --prune=now", ASK), ("git -c remote.origin.mirror=true push", ASK), ("git obliterate secrets.txt", ASK),
    ("git delete-branch feature", ASK), ("git reset-file src/a.py", ASK), ("git clear", ASK), ("git sync", ASK),
    ("git summary", ALLOW), ("git read-tree HEAD", ALLOW), ("git checkout-index -a", ALLOW),
    # database restores and SQL clients
    ("mongorestore --drop dump/", ASK), ("pg_restore --clean -d mydb x.dump", ASK),
    ("clickhouse-client --query 'DROP TABLE t'", ASK), ("cqlsh -e 'DROP KEYSPACE ks'", ASK),
    ("sqlcmd -Q 'DROP DATABASE x'", ASK), ("snowsql -q 'drop table t'", ASK), ("duckdb db.duckdb 'DROP TABLE t'", ASK),
    ("bq query --use_legacy_sql=false 'DELETE FROM ds.t WHERE true'", ASK), ("bq rm -f -t ds.table", ASK),
    ("clickhouse-client --query 'SELECT count() FROM t'", ALLOW), ("mongorestore dump/", ALLOW),
    # framework resets
    ("rails db:drop", ASK), ("bin/rails db:schema:load", ASK), ("rails db:rollback", ASK),
    ("npx prisma migrate reset --force", ASK), ("npx prisma db push --accept-data-loss", ASK),
    ("python manage.py flush --noinput", ASK), ("python manage.py migrate app zero", ASK), ("alembic downgrade base", ASK),
    ("php artisan migrate:fresh", ASK), ("mix ecto.reset", ASK), ("flyway clean", ASK), ("npx typeorm schema:drop", ASK),
    ("supabase db reset --linked", ASK),
    ("rails db:migrate", ALLOW), ("python manage.py migrate", ALLOW), ("alembic upgrade head", ALLOW), ("flyway migrate", ALLOW),
    # secret managers
    ("vault kv delete secret/app", ASK), ("vault secrets disable kv", ASK), ("consul kv delete -recurse app/", ASK),
    ("etcdctl del --prefix /", ASK), ("doppler secrets delete KEY", ASK), ("op item delete x", ASK),
    ("aws secretsmanager delete-secret --secret-id x --force-delete-without-recovery", ASK), ("gcloud secrets delete x", ASK),
    ("vault kv get secret/app", ALLOW), ("etcdctl get --prefix /", ALLOW),
    # backup and storage
    ("restic forget --prune --keep-last 1", ASK), ("borg delete repo::archive", ASK), ("velero backup delete b", ASK),
    ("rclone purge remote:bucket", ASK), ("rclone sync src remote:dst", ASK), ("mc rm --recursive --force myminio/bucket", ASK),
    ("gsutil rm -r gs://b", ASK), ("s3cmd del --recursive s3://b", ASK), ("azcopy remove https://x/y --recursive", ASK),
    ("restic snapshots", ALLOW), ("rclone copy src remote:dst", ALLOW), ("rclone sync src remote:dst --dry-run", ALLOW),
    # messaging
    ("kafka-topics.sh --delete --topic t --bootstrap-server b:9092", ASK), ("rabbitmqctl delete_queue q", ASK),
    ("rabbitmqctl reset", ASK), ("rabbitmqadmin delete queue name=q", ASK), ("nats stream rm S", ASK),
    ("kafka-topics.sh --list --bootstrap-server b:9092", ALLOW), ("rabbitmqctl list_queues", ALLOW),
    # disks and volumes
    ("cryptsetup luksFormat /dev/sdb", DENY), ("zpool destroy tank", DENY), ("zfs destroy -r tank/data", DENY),
    ("btrfs subvolume delete /mnt/x", ASK), ("lvremove vg/lv", DENY), ("nvme format /dev/nvme0n1", DENY),
    ("blkdiscard /dev/sdb", DENY), ("badblocks -w /dev/sdb", DENY), ("sgdisk --zap-all /dev/sda", DENY),
    ("parted /dev/sda rm 1", DENY), ("zpool status", ALLOW), ("nvme list", ALLOW), ("badblocks -sv /dev/sdb", ALLOW),
    # local VMs and clusters
    ("vagrant destroy -f", ASK), ("virsh undefine vm --remove-all-storage", ASK), ("virsh destroy vm", ASK),
    ("kind delete cluster", ASK), ("minikube delete --all", ASK), ("k3d cluster delete", ASK),
    ("vagrant status", ALLOW), ("virsh list --all", ALLOW), ("kind get clusters", ALLOW),
    # PaaS, CDN, DNS
    ("wrangler delete", ASK), ("wrangler kv key delete k --binding X", ASK),
    ("wrangler d1 execute prod --remote --command 'DROP TABLE users'", ASK), ("fastly service delete --service-id x", ASK),
    ("vercel rm proj --yes", ASK), ("netlify sites:delete x", ASK), ("flyctl apps destroy x", ASK),
    ("doctl compute droplet delete x", ASK), ("nsupdate -k key file", ASK),
    ("wrangler deploy", ALLOW), ("doctl compute droplet list", ALLOW),
    # gh and glab
    ("gh repo delete acme/web --yes", ASK), ("gh release delete v1 -y", ASK), ("gh secret delete KEY", ASK),
    ("gh repo edit --visibility public --accept-visibility-change-consequences", ASK), ("glab repo delete acme/web", ASK),
    ("glab variable delete KEY", ASK), ("gh pr list", ALLOW), ("gh issue view 3", ALLOW), ("glab mr list", ALLOW),
    ("gh pr create --fill", ALLOW),
    # VPNs and links, permanent deletes, Mercurial
    ("tailscale down", ASK), ("wg-quick down wg0", ASK), ("ip link delete eth0", ASK), ("srm -r dir", ASK),
    ("trash-empty", ASK), ("gio trash --empty", ASK), ("hg strip -r 5", ASK), ("hg update -C default", ASK),
    ("tailscale status", ALLOW), ("ip link show", ALLOW), ("gio trash old.txt", ALLOW), ("hg status", ALLOW),
    ("atlas clusters delete prod --force", ASK),   # MongoDB's atlas CLI: the destruction-verb fallback
    # data stays data
    ("echo rabbitmqctl reset", ALLOW), ("grep -rn 'vault kv delete' docs/", ALLOW),
    ("git commit -m 'flyway clean; rails db:drop'", ALLOW), ("man zpool", ALLOW),
]


@pytest.mark.parametrize("command,expected", CASES, ids=[f"{i:03d}:{c[:60]}" for i, (c, _) in enumerate(CASES)])
def test_issue13_packs(classify: Callable[[str], Verdict], command: str, expected: Decision) -> None:
    verdict = classify(command)
    assert verdict.decision == expected, (verdict.risk.label, [m.rule for m in verdict.matches])
