"""rules.d/containers.yaml: docker, podman, nerdctl and Compose commands and the risk each must get.

Most commands come from the Docker CLI and Compose references and the Podman docs (their
examples, not the rule examples); the rest are the shapes agents and scripts use around them.
"""
from __future__ import annotations

from typing import Callable

import pytest

from guardsh.engine.model import Decision, Risk, Verdict

from rulepack import case_ids as _ids
from rulepack import check_docs_entry
from rulepack import docs_more as _docs_more

RO, REV, DES, CAT = "read-only", "reversible", "destructive", "catastrophic"
TOOL = "containers"  # its entries in tests/corpus/docs_more.yaml

CASES = [
    # --- reading ---
    ("docker ps -a --filter 'exited=0'", RO),
    ("docker ps --filter status=running --format 'table {{.ID}}\\t{{.Names}}'", RO),
    ("docker ps -q -f ancestor=ubuntu", RO),
    ("docker images --filter \"before=image1\"", RO),
    ("docker image ls --format \"{{.Repository}}:{{.Tag}}\"", RO),
    ("docker inspect --format='{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' $INSTANCE_ID", RO),
    ("docker logs --since 2013-01-02T13:23:37Z --until 42m web", RO),
    ("docker container logs -n 20 web", RO),
    ("docker stats --all --format \"table {{.Container}}\\t{{.CPUPerc}}\"", RO),
    ("docker container inspect web", RO),
    ("docker volume inspect pgdata", RO),
    ("docker network ls --filter driver=bridge", RO),
    ("docker system df", RO),
    ("docker system info", RO),
    ("docker events --since '2017-01-05' --filter 'event=stop'", RO),
    ("docker image history --no-trunc nginx", RO),
    ("docker compose ps --services --filter status=running", RO),
    ("docker compose logs --tail=100 --timestamps", RO),
    ("docker compose -f docker-compose.yml -f docker-compose.admin.yml config", RO),
    ("docker compose images", RO),
    ("docker-compose ps -a", RO),
    ("docker service ps web", RO),
    ("docker node ls", RO),
    ("docker stack ps mystack", RO),
    ("docker secret ls", RO),
    ("podman pod ps", RO),
    ("podman volume ls", RO),
    ("podman inspect --format '{{.State.Pid}}' web", RO),
    ("nerdctl images", RO),
    ("docker version --format '{{.Server.Version}}'", RO),
    ("docker buildx ls", RO),
    ("docker system prune --help", RO),
    # --- routine changes ---
    ("docker run -it --rm ubuntu bash", REV),
    ("docker run -d --restart unless-stopped --name redis -p 6379:6379 redis:7", REV),
    ("docker run --rm -v \"$(pwd)\":/work -w /work golang:1.22 go test ./...", REV),
    ("docker run --name some-postgres -e POSTGRES_PASSWORD=mysecretpassword -d postgres", REV),
    ("docker run -d -v /var/log:/var/log:ro --name shipper fluent/fluent-bit", REV),
    ("docker run --rm -v ~/.aws:/root/.aws:ro amazon/aws-cli s3 ls", REV),
    ("docker run -p 127.0.0.1:80:8080/tcp nginx:alpine", REV),
    ("docker create --name app myapp:latest", REV),
    ("docker build -f Dockerfile.prod -t myapp:prod --build-arg VERSION=1.2 .", REV),
    ("docker buildx build --platform linux/amd64,linux/arm64 -t user/app:latest --push .", REV),
    ("docker tag myapp:latest registry.example.com/myapp:1.0", REV),
    ("docker start -a web", REV),
    ("docker stop -t 30 web", REV),
    ("docker pause web", REV),
    ("docker cp ./config.json web:/etc/app/config.json", REV),
    ("docker volume create --driver local pgdata", REV),
    ("docker network connect my-net web", REV),
    ("docker login -u myuser registry.example.com", REV),
    ("docker compose up -d --force-recreate web", REV),
    ("docker compose -p myproj up -d", REV),
    ("docker compose stop", REV),
    ("docker compose restart worker", REV),
    ("docker compose down --remove-orphans", REV),
    ("docker compose run --rm web python manage.py migrate", REV),
    ("docker compose build --no-cache", REV),
    ("docker-compose pull", REV),
    ("docker rm web", REV),
    ("docker container rm old-container", REV),
    ("docker rmi myapp:old", REV),
    ("docker image prune", REV),
    ("docker builder prune -af", REV),
    ("docker swarm init --advertise-addr 192.168.99.100", REV),
    ("docker service create --name web --replicas 3 -p 80:80 nginx", REV),
    ("docker service scale web=5", REV),
    ("docker service update --image nginx:1.25 web", REV),
    ("docker stack deploy -c docker-compose.yml mystack", REV),
    ("docker context use default", REV),
    ("podman run --rm -it fedora:40 bash", REV),
    ("podman generate systemd --new --name web", REV),
    ("nerdctl run -d --name nginx -p 8080:80 nginx:alpine", REV),
    # --- destructive ---
    ("docker rm -f $(docker ps -a -q)", DES),
    ("docker rm -v redis", DES),
    ("docker container rm --force web", DES),
    ("docker rmi -f fd484f19954f", DES),
    ("docker image rm --force myapp:1.0", DES),
    ("docker kill --signal=SIGKILL my_container", DES),
    ("docker container kill web", DES),
    ("docker container prune", DES),
    ("docker image prune -a --filter \"until=24h\"", DES),
    ("docker image prune --all --force", DES),
    ("docker volume rm $(docker volume ls -qf dangling=true)", DES),
    ("docker volume prune", DES),
    ("docker volume prune -a -f", DES),
    ("docker system prune -af --volumes", DES),
    ("docker system prune --filter \"until=24h\"", DES),
    ("docker network rm my-bridge-network", DES),
    ("docker network prune --filter \"until=24h\"", DES),
    ("docker compose down --volumes", DES),
    ("docker compose down -v --rmi all --remove-orphans", DES),
    ("docker compose -p myproj down -v", DES),
    ("docker compose rm -s -v -f", DES),
    ("docker compose kill -s SIGINT", DES),
    ("docker-compose down --volumes", DES),
    ("docker swarm leave -f", DES),
    ("docker node rm --force worker-1", DES),
    ("docker stack rm monitoring", DES),
    ("docker service rm redis", DES),
    ("docker secret rm my_secret", DES),
    ("docker config rm my_config", DES),
    ("docker context rm -f staging", DES),
    ("docker run --rm --privileged tonistiigi/binfmt --install all", DES),
    ("docker run -it --pid=host --privileged --net=host -v /:/host debian chroot /host", DES),
    ("docker run -v /var/run/docker.sock:/var/run/docker.sock -d containrrr/watchtower", DES),
    ("docker run --rm -v /etc:/mnt/etc alpine sh -c 'echo x >> /mnt/etc/hosts'", DES),
    ("docker run --mount type=bind,source=/,target=/host,bind-propagation=rshared alpine sh", DES),
    ("docker run --cap-add=SYS_ADMIN --device /dev/fuse -it ubuntu bash", DES),
    ("podman volume prune -f", DES),
    ("podman pod rm -f -a", DES),
    ("podman system prune -a -f", DES),
    ("podman machine rm -f podman-machine-default", DES),
    ("nerdctl volume rm pgdata", DES),
    ("nerdctl system prune --all", DES),
    # --- catastrophic ---
    ("docker volume rm $(docker volume ls -q)", CAT),
    ("docker volume ls -q | xargs docker volume rm", CAT),
    ("podman system reset -f", CAT),
    ("docker run --rm -v /:/host alpine rm -rf /host/*", CAT),
]

WRAPPERS = [
    ("sudo docker rm -f web", DES),
    ("sudo -u deploy docker compose down -v", DES),
    ("bash -c 'docker volume prune -f'", DES),
    ("ssh prod-host 'docker system prune -af'", DES),
    ("ssh prod-host docker compose -f /srv/app/docker-compose.yml down -v", DES),
    ("timeout 60 docker kill web", DES),
    ("docker ps -aq | xargs docker rm -f", DES),
    ("docker ps -q --filter status=exited | xargs -r docker rm -v", DES),
    ("eval 'docker network prune -f'", DES),
    ("docker ps && docker rm -f web", DES),
    ("docker exec web rm -rf /app", DES),
    ("docker exec -it db psql -U postgres -c 'SELECT 1'", REV),
    ("docker exec web ls /app", REV),                 # exec itself is routine; the inner ls is read-only
    ("docker compose exec web cat /etc/hosts", REV),
    ("docker run --rm -v \"$PWD\":/src alpine rm -rf /src/data", DES),
    # look-alikes: data, not a container deletion
    ("echo docker rm -f web", RO),
    ("echo 'docker system prune -af --volumes'", RO),
    ("grep -rn 'docker volume rm' scripts/", RO),
    ("git commit -m 'docker compose down -v in CI'", REV),
    ("docker ps --filter name=rm-worker", RO),
    ("docker logs prune-job", RO),
    ("docker inspect volume-rm-test", RO),
    ("docker images | grep prune", RO),
    ("man docker-rm", RO),
    ("docker volume rm --help", RO),
    ("docker compose down --help", RO),
    ("docker run --rm alpine echo done", REV),
    ("docker run --rm -v pgdata:/var/lib/postgresql/data alpine ls /var/lib/postgresql/data", REV),
]


@pytest.mark.parametrize(("command", "expected"), CASES, ids=_ids(CASES))
def test_container_reference_commands(classify: Callable[[str], Verdict], command: str, expected: str) -> None:
    verdict = classify(command)
    assert verdict.risk.label == expected, [m.to_json() for m in verdict.matches]


@pytest.mark.parametrize(("command", "expected"), WRAPPERS, ids=_ids(WRAPPERS))
def test_container_wrappers_and_look_alikes(classify: Callable[[str], Verdict], command: str, expected: str) -> None:
    verdict = classify(command)
    assert verdict.risk.label == expected, [m.to_json() for m in verdict.matches]


@pytest.mark.parametrize(("command", "rule"), [
    ("docker rm -f web", "docker-rm-force"),
    ("docker volume prune -f", "docker-volume-rm"),
    ("docker system prune -a", "docker-system-prune"),
    ("docker compose down -v", "docker-compose-down-volumes"),
    ("docker image prune -a", "docker-image-prune-all"),
    ("docker swarm leave --force", "docker-swarm-leave-force"),
    ("docker run -v /:/host alpine sh", "docker-run-host-mount"),
    ("docker run --privileged alpine sh", "docker-run-privileged"),
])
def test_the_specific_rule_explains(classify: Callable[[str], Verdict], command: str, rule: str) -> None:
    assert rule in [m.rule for m in classify(command).matches]


def test_decisions(classify: Callable[[str], Verdict]) -> None:
    assert classify("docker ps -a").decision == Decision.ALLOW
    assert classify("docker compose up -d --build").decision == Decision.ALLOW
    assert classify("docker compose down -v").decision == Decision.ASK
    assert classify("docker volume rm $(docker volume ls -q)").decision == Decision.DENY


def test_refusal_offers_a_safer_way(classify: Callable[[str], Verdict]) -> None:
    verdict = classify("docker compose down -v")
    assert any(m.suggest and "keeps volumes" in m.suggest for m in verdict.matches)


def test_read_only_system_mounts_stay_allowed(classify: Callable[[str], Verdict]) -> None:
    """`:ro` on a system directory is the everyday way to share the clock or logs; only writable mounts ask."""
    assert classify("docker run -v /etc/localtime:/etc/localtime:ro -v /:/rootfs:ro gcr.io/cadvisor/cadvisor").risk == Risk.REVERSIBLE
    assert classify("docker run -v /:/rootfs alpine true").risk == Risk.DESTRUCTIVE


def test_docker_run_command_is_classified(classify: Callable[[str], Verdict]) -> None:
    verdict = classify("docker run --rm -v \"$PWD\":/src alpine sh -c 'cd /src && git clean -fdx'")
    assert verdict.risk == Risk.DESTRUCTIVE


@pytest.mark.xfail(strict=True, reason=(
    "engine gap: a match key cannot say 'an option value that does NOT contain X' and unless applies "
    "to the whole command, so the mount rules exclude read-only mounts with globs on the value's last "
    "characters (`:ro`); a mode list such as `:ro,z` still looks writable"))
def test_mount_mode_lists(classify: Callable[[str], Verdict]) -> None:
    assert classify("docker run -v /:/host:ro,z alpine ls /host").risk == Risk.REVERSIBLE


# --- tests/corpus/docs_more.yaml: documentation commands labelled before the rules were written ---

@pytest.mark.parametrize("entry", _docs_more(TOOL), ids=lambda e: " ".join(e["command"].split())[:70])
def test_docs_more_corpus(classify: Callable[[str], Verdict], entry: dict[str, str]) -> None:
    """Read-only is allowed, destructive asks, catastrophic is denied (reversible is allowed too)."""
    check_docs_entry(classify, entry)

