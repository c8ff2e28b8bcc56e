"""rules.d/system.yaml: real-world host administration commands (services, signals, firewalls, users,
mounts, kernel, packages, logs, network) and their risk.

Commands come from the man pages and distribution documentation of each tool (systemctl(1),
pkill(1), iptables(8), nft(8), ufw(8), useradd/usermod/passwd(8), mount(8), apt-get(8), dnf(8),
pacman(8), journalctl(1), ip(8), nmcli(1)...) and common administration guides.
"""
from __future__ import annotations

from typing import Callable

import pytest

from guardsh.engine.model import Decision, Risk, Verdict

RO, REV, DES, CAT = "read-only", "reversible", "destructive", "catastrophic"

CASES = [
    # --- systemctl / service ---
    ("systemctl status sshd", RO),
    ("systemctl status nginx.service --no-pager -l", RO),
    ("systemctl", RO),
    ("systemctl --failed", RO),
    ("systemctl list-units --type=service --state=running", RO),
    ("systemctl list-unit-files --state=enabled", RO),
    ("systemctl list-timers --all", RO),
    ("systemctl is-active --quiet docker && echo up", RO),
    ("systemctl is-enabled kubelet", RO),
    ("systemctl cat sshd.service", RO),
    ("systemctl show -p MainPID --value nginx", RO),
    ("systemctl list-dependencies multi-user.target", RO),
    ("systemctl --user status pipewire", RO),
    ("systemctl get-default", RO),
    ("service --status-all", RO),
    ("service nginx status", RO),
    ("sudo systemctl start nginx", REV),
    ("sudo systemctl restart sshd", REV),
    ("systemctl reload nginx", REV),
    ("sudo systemctl enable --now docker", REV),
    ("sudo systemctl daemon-reload", REV),
    ("systemctl unmask bluetooth.service", REV),
    ("systemctl --user stop pipewire pipewire-pulse", REV),
    ("systemctl --user disable --now syncthing.service", REV),
    ("systemctl set-default multi-user.target", REV),
    ("sudo service nginx restart", REV),
    ("sudo systemctl stop nginx", DES),
    ("sudo systemctl disable apache2", DES),
    ("sudo systemctl disable --now postgresql", DES),
    ("systemctl mask bluetooth.service", DES),
    ("sudo systemctl stop docker.socket docker.service", DES),
    ("sudo systemctl stop kubelet", DES),
    ("systemctl kill --signal=SIGKILL mysqld", DES),
    ("sudo systemctl isolate rescue.target", DES),
    ("sudo service postgresql stop", DES),
    ("sudo systemctl stop sshd", CAT),
    ("sudo systemctl disable --now ssh.socket", CAT),
    ("sudo systemctl mask systemd-networkd", CAT),
    ("sudo systemctl stop NetworkManager", CAT),
    ("sudo service ssh stop", CAT),
    ("sudo service networking stop", CAT),
    # --- signals ---
    ("kill 12345", REV),
    ("kill -9 12345", REV),
    ("kill -TERM 4321 4322", REV),
    ("pkill -f 'python manage.py runserver'", REV),
    ("pkill -9 node", REV),
    ("killall -q chrome", REV),
    ("pkill -HUP nginx", REV),
    ("sudo pkill -HUP sshd", REV),
    ("killall -USR1 dd", REV),
    ("sudo pkill sshd", DES),
    ("sudo killall -9 dockerd", DES),
    ("sudo pkill -9 -f kubelet", DES),
    ("sudo killall postgres", DES),
    ("sudo pkill -u bob", DES),
    ("sudo killall -u www-data", DES),
    ("sudo kill -9 $(pidof mysqld)", DES),
    ("sudo pkill -9 systemd", CAT),
    ("sudo killall init", CAT),
    ("sudo pkill -KILL -u root", CAT),
    ("sudo kill -9 1", CAT),
    ("kill -9 -1", CAT),
    ("sudo killall5 -9", CAT),
    # --- firewalls ---
    ("sudo iptables -L -n -v", RO),
    ("sudo iptables -nvL INPUT --line-numbers", RO),
    ("sudo iptables -S", RO),
    ("sudo iptables -t nat -L -n", RO),
    ("sudo ip6tables -L", RO),
    ("sudo iptables-save", RO),
    ("sudo iptables-save > rules.v4", RO),
    ("sudo nft list ruleset", RO),
    ("sudo nft -a list chain inet filter input", RO),
    ("sudo nft -c -f /etc/nftables.conf", RO),
    ("sudo ufw status verbose", RO),
    ("sudo ufw status numbered", RO),
    ("sudo ufw app list", RO),
    ("sudo firewall-cmd --list-all", RO),
    ("sudo firewall-cmd --get-active-zones", RO),
    ("sudo iptables -A INPUT -p tcp --dport 22 -j ACCEPT", REV),
    ("sudo iptables -I INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT", REV),
    ("sudo iptables -A INPUT -s 203.0.113.7 -j DROP", REV),
    ("sudo ufw allow OpenSSH", REV),
    ("sudo ufw allow 443/tcp", REV),
    ("sudo ufw deny from 203.0.113.7", REV),
    ("sudo ufw default allow outgoing", REV),
    ("sudo firewall-cmd --permanent --add-service=http", REV),
    ("sudo firewall-cmd --reload", REV),
    ("sudo nft add rule inet filter input tcp dport 22 accept", REV),
    ("sudo iptables -F", DES),
    ("sudo iptables -t nat -F", DES),
    ("sudo iptables -X", DES),
    ("sudo iptables -P INPUT DROP", DES),
    ("sudo ip6tables -P INPUT DROP", DES),
    ("sudo iptables -A INPUT -j DROP", DES),
    ("sudo iptables-restore < /etc/iptables/rules.v4", DES),
    ("sudo nft flush ruleset", DES),
    ("sudo nft delete table inet filter", DES),
    ("sudo nft -f /etc/nftables.conf", DES),
    ("sudo ufw reset", DES),
    ("sudo ufw --force reset", DES),
    ("sudo ufw disable", DES),
    ("sudo ufw enable", DES),
    ("sudo ufw default deny incoming", DES),
    ("sudo ufw delete allow 22/tcp", DES),
    ("sudo firewall-cmd --panic-on", DES),
    ("sudo firewall-cmd --set-default-zone=drop", DES),
    ("sudo firewall-cmd --permanent --remove-service=ssh", DES),
    ("ssh web1 'sudo iptables -F'", DES),
    ("ssh admin@bastion sudo ufw default deny incoming", DES),
    # --- users and sudo ---
    ("id bob", RO),
    ("getent passwd bob", RO),
    ("chage -l bob", RO),
    ("passwd -S bob", RO),
    ("sudo visudo -c", RO),
    ("sudo useradd -m -s /bin/bash bob", REV),
    ("sudo adduser --disabled-password --gecos '' deploy", REV),
    ("sudo groupadd developers", REV),
    ("sudo usermod -aG docker $USER", REV),
    ("sudo usermod -a -G sudo alice", REV),
    ("sudo usermod -c 'Bob Smith' bob", REV),
    ("passwd", REV),
    ("sudo chage -M 90 bob", REV),
    ("sudo gpasswd -a bob docker", REV),
    ("sudo userdel -r bob", DES),
    ("sudo userdel bob", DES),
    ("sudo deluser --remove-home bob", DES),
    ("sudo groupdel developers", DES),
    ("sudo usermod -L bob", DES),
    ("sudo usermod -G docker bob", DES),
    ("sudo usermod -s /usr/sbin/nologin bob", DES),
    ("sudo usermod -e 1 bob", DES),
    ("sudo passwd bob", DES),
    ("sudo passwd -l root", DES),
    ("sudo passwd -d bob", DES),
    ("echo 'bob:NewPass123' | sudo chpasswd", DES),
    ("sudo chage -E 0 bob", DES),
    ("sudo gpasswd -d bob sudo", DES),
    ("sudo visudo", DES),
    ("sudo visudo -f /etc/sudoers.d/deploy", DES),
    ("echo 'deploy ALL=(ALL) NOPASSWD:ALL' | sudo tee /etc/sudoers.d/deploy", DES),
    ("echo 'bob ALL=(ALL) ALL' >> /etc/sudoers", DES),
    # --- mounts, swap, kernel ---
    ("mount", RO),
    ("mount -l -t ext4", RO),
    ("findmnt /home", RO),
    ("swapon --show", RO),
    ("sysctl -a", RO),
    ("sysctl net.ipv4.ip_forward", RO),
    ("lsmod | grep br_netfilter", RO),
    ("modinfo e1000e", RO),
    ("modprobe -n -v br_netfilter", RO),
    ("sudo mount /dev/sdb1 /mnt/data", REV),
    ("sudo mount -t nfs 10.0.0.5:/export /mnt/nfs", REV),
    ("sudo mount -o remount,rw /", REV),
    ("sudo mount -a", REV),
    ("sudo umount /mnt/usb", REV),
    ("sudo umount -l /mnt/iso", REV),
    ("sudo swapon /swapfile", REV),
    ("sudo sysctl -w vm.swappiness=10", REV),
    ("sudo sysctl -w net.ipv4.ip_forward=1", REV),
    ("sudo sysctl -p", REV),
    ("sudo sysctl --system", REV),
    ("sudo modprobe br_netfilter", REV),
    ("sudo mount --bind /srv/overlay /etc", DES),
    ("sudo mount /dev/sdb1 /usr", DES),
    ("sudo mount -o remount,ro /", DES),
    ("sudo umount /boot", DES),
    ("sudo umount -f /mnt/nfs", DES),
    ("sudo umount -a", DES),
    ("sudo swapoff -a", DES),
    ("sudo sysctl -w net.ipv4.ip_forward=0", DES),
    ("sudo modprobe -r e1000e", DES),
    ("sudo rmmod nouveau", DES),
    ("echo b | sudo tee /proc/sysrq-trigger", CAT),
    # --- packages ---
    ("apt list --installed", RO),
    ("apt list --upgradable", RO),
    ("apt show nginx", RO),
    ("apt search ripgrep", RO),
    ("apt-cache policy docker-ce", RO),
    ("apt remove --help", RO),
    ("apt-get -s remove nginx", RO),
    ("apt-get --simulate autoremove", RO),
    ("dpkg -l | grep nginx", RO),
    ("dpkg -L coreutils", RO),
    ("dnf list installed", RO),
    ("dnf remove --assumeno httpd", RO),
    ("yum info nginx", RO),
    ("rpm -qa | grep kernel", RO),
    ("rpm -qi glibc", RO),
    ("pacman -Qi linux", RO),
    ("pacman -Ss nginx", RO),
    ("zypper se nginx", RO),
    ("apk info -L musl", RO),
    ("brew list --versions", RO),
    ("npm ls -g --depth=0", REV),
    ("sudo apt update", REV),
    ("sudo apt install -y nginx", REV),
    ("sudo apt-get upgrade -y", REV),
    ("sudo apt-get clean", REV),
    ("sudo dnf install -y httpd", REV),
    ("sudo pacman -Syu", REV),
    ("sudo dpkg -i foo_1.0_amd64.deb", REV),
    ("brew install node", REV),
    ("pip uninstall -y requests", REV),
    (".venv/bin/pip uninstall -y requests", REV),
    ("python3 -m pip uninstall -y requests", REV),
    ("npm uninstall lodash", REV),
    ("flatpak uninstall --unused", REV),
    ("sudo apt remove nginx", DES),
    ("sudo apt-get purge -y apache2", DES),
    ("sudo apt autoremove", DES),
    ("sudo apt-get --purge remove mysql-server", DES),
    ("sudo dnf remove httpd", DES),
    ("sudo yum -y erase mariadb-server", DES),
    ("sudo dnf history undo 12", DES),
    ("sudo pacman -Rns firefox", DES),
    ("sudo zypper rm nginx", DES),
    ("sudo apk del nginx", DES),
    ("sudo rpm -e httpd", DES),
    ("sudo dpkg --purge nginx", DES),
    ("sudo snap remove lxd", DES),
    ("sudo pip uninstall requests", DES),
    ("pip uninstall --break-system-packages -y urllib3", DES),
    ("sudo python3 -m pip uninstall -y six", DES),
    ("npm uninstall -g typescript", DES),
    ("brew uninstall node", DES),
    ("brew untap homebrew/cask-fonts", DES),
    ("gem uninstall rails", DES),
    ("conda env remove -n ml", DES),
    ("sudo apt remove python3", CAT),
    ("sudo apt-get purge -y openssh-server", CAT),
    ("sudo yum remove python", CAT),
    ("sudo dnf remove -y systemd", CAT),
    ("sudo pacman -Rdd glibc", CAT),
    ("sudo rpm -e --nodeps glibc", CAT),
    ("sudo dpkg --force-remove-essential -r bash", CAT),
    # --- logs and history ---
    ("journalctl -u nginx --since today", RO),
    ("journalctl -xe", RO),
    ("journalctl -f -n 100 -u kubelet", RO),
    ("journalctl --disk-usage", RO),
    ("journalctl --list-boots", RO),
    ("logrotate -d /etc/logrotate.conf", RO),
    ("dmesg -T | tail -50", RO),
    ("history | tail -20", RO),
    ("sudo journalctl --rotate", REV),
    ("sudo logrotate /etc/logrotate.conf", REV),
    ("sudo journalctl --vacuum-time=2d", DES),
    ("sudo journalctl --vacuum-size=100M", DES),
    ("sudo journalctl --rotate --vacuum-files=1", DES),
    ("sudo logrotate -f /etc/logrotate.conf", DES),
    ("sudo dmesg -C", DES),
    ("history -c", DES),
    ("history -c && history -w", DES),
    ("cat /dev/null > ~/.bash_history", DES),
    # --- time, host name, attributes, MAC ---
    ("timedatectl", RO),
    ("timedatectl status", RO),
    ("timedatectl list-timezones | grep Europe", RO),
    ("hostnamectl", RO),
    ("hostname -I", RO),
    ("lsattr /etc/resolv.conf", RO),
    ("getenforce", RO),
    ("sestatus", RO),
    ("sudo timedatectl set-timezone Europe/Berlin", REV),
    ("sudo timedatectl set-ntp true", REV),
    ("sudo hostnamectl set-hostname web-01", REV),
    ("sudo hostname web-01", REV),
    ("sudo chattr -i /etc/resolv.conf", REV),
    ("sudo setenforce 1", REV),
    ("sudo timedatectl set-time '2024-01-01 12:00:00'", DES),
    ("sudo date -s '2024-01-01 12:00:00'", DES),
    ("sudo chattr +i /etc/resolv.conf", DES),
    ("sudo setenforce 0", DES),
    ("sudo sed -i 's/^SELINUX=enforcing/SELINUX=disabled/' /etc/selinux/config", DES),
    ("sudo aa-teardown", DES),
    # --- network ---
    ("ip a", RO),
    ("ip -br addr show", RO),
    ("ip route", RO),
    ("ip route get 1.1.1.1", RO),
    ("ip -s link show eth0", RO),
    ("ifconfig -a", RO),
    ("route -n", RO),
    ("nmcli con show", RO),
    ("nmcli device status", RO),
    ("nmcli -t -f NAME,DEVICE connection show --active", RO),
    ("networkctl status", RO),
    ("sudo ip link set eth0 up", REV),
    ("sudo ip addr add 192.168.1.10/24 dev eth0", REV),
    ("sudo ip route add 10.8.0.0/24 via 10.0.0.1", REV),
    ("sudo ip route flush cache", REV),
    ("sudo nmcli con up 'Wired connection 1'", REV),
    ("sudo nmcli con mod eth0 ipv4.dns '1.1.1.1 8.8.8.8'", REV),
    ("sudo ip link set eth0 down", DES),
    ("sudo ip link set dev ens3 down", DES),
    ("sudo ip addr flush dev eth0", DES),
    ("sudo ip route del default", DES),
    ("sudo ifconfig eth0 down", DES),
    ("sudo ifdown eth0", DES),
    ("sudo nmcli con down 'Wired connection 1'", DES),
    ("sudo nmcli connection delete office-vpn", DES),
    ("sudo nmcli device disconnect eth0", DES),
    ("sudo nmcli networking off", DES),
    ("ssh node3 'sudo ip link set eth0 down'", DES),
]

LOOK_ALIKES = [
    "systemctl status sshd",
    "systemctl status networking",
    "systemctl is-active sshd || echo 'sshd is stopped'",
    "journalctl -u sshd --since '1 hour ago' | grep 'systemctl stop'",
    "echo 'ufw reset'",
    "echo sudo iptables -F",
    "printf '%s\\n' 'systemctl stop nginx'",
    "git commit -m 'ufw default deny incoming; iptables -F'",
    "grep -rn 'apt-get purge' scripts/",
    "rg 'userdel -r' docs/",
    "man iptables",
    "man 8 userdel",
    "apt list --installed",
    "apt remove --help",
    "apt-get -s remove nginx",
    "apt-get remove --dry-run nginx",
    "dnf remove --assumeno httpd",
    "rpm -e --test httpd",
    "pacman -Rp firefox",
    "brew autoremove --dry-run",
    "ufw --dry-run reset",
    "ufw --dry-run enable",
    "nft -c -f /etc/nftables.conf",
    "modprobe -n -r e1000e",
    "logrotate -d -f /etc/logrotate.conf",
    "pgrep -u root sshd",
    "pgrep -af kubelet",
    "pidof sshd",
    "ps -ef | grep dockerd",
    "iptables --help",
    "systemctl stop --help",
    "userdel --help",
    "ip route flush cache",
    "mount | column -t",
    "sysctl net.ipv6.conf.all.disable_ipv6",
    "cat /etc/sudoers.d/README",
    "sudo cat /etc/shadow | wc -l",
    "getent group sudo",
    "dpkg -S /usr/sbin/sshd",
    "history | grep 'history -c'",
    "journalctl --disk-usage",
    "ssh web1 systemctl status sshd",
    "ssh web1 'sudo iptables -L -n'",
]


@pytest.mark.parametrize("command,expected", CASES)
def test_system_risk(classify: Callable[[str], Verdict], command: str, expected: str) -> None:
    verdict = classify(command)
    assert verdict.risk.label == expected, [m.rule for m in verdict.matches]


@pytest.mark.parametrize("command", LOOK_ALIKES)
def test_system_look_alikes_stay_allowed(classify: Callable[[str], Verdict], command: str) -> None:
    verdict = classify(command)
    assert verdict.decision == Decision.ALLOW, [m.rule for m in verdict.matches]


def test_enough_real_world_cases() -> None:
    assert len(CASES) >= 100
    assert len({c for c, _ in CASES}) == len(CASES), "duplicate commands"
    assert {label for _, label in CASES} == {RO, REV, DES, CAT}


@pytest.mark.parametrize("command,rule", [
    ("sudo systemctl stop sshd", "systemctl-stop-access-service"),
    ("ssh web1 'sudo systemctl stop networking'", "systemctl-stop-access-service"),
    ("bash -c 'systemctl stop sshd'", "systemctl-stop-access-service"),
    ("echo nginx | xargs sudo systemctl stop", "systemctl-stop-service"),
    ("ssh web1 'sudo iptables -F'", "iptables-flush"),
    ("ssh -p 2222 admin@bastion 'sudo iptables -P INPUT DROP'", "iptables-policy"),
    ("sudo -i -u root bash -c 'iptables -F'", "iptables-flush"),
    ("timeout 10 sudo ufw reset", "ufw-reset-disable"),
    ("ssh node3 'sudo ip link set eth0 down'", "ip-link-down"),
    ("sudo ip -n blue link set eth0 down", "ip-link-down"),
    ("sudo env DEBIAN_FRONTEND=noninteractive apt-get purge -y nginx", "apt-remove"),
    ("doas apk del musl", "apk-del-critical"),
    ("ssh web1 sudo pip3 uninstall -y six", "pip-uninstall-system"),
    ("pacman -Qdtq | sudo pacman -Rns -", "pacman-remove"),
])
def test_wrappers_reach_the_system_rules(classify: Callable[[str], Verdict], command: str, rule: str) -> None:
    verdict = classify(command)
    assert rule in [m.rule for m in verdict.matches]
    assert verdict.decision >= Decision.ASK


def test_user_services_are_milder_than_system_services(classify: Callable[[str], Verdict]) -> None:
    assert classify("systemctl --user stop syncthing").risk == Risk.REVERSIBLE
    assert classify("systemctl stop syncthing").risk == Risk.DESTRUCTIVE
    assert classify("systemctl stop sshd").risk == Risk.CATASTROPHIC
    assert classify("systemctl --user stop sshd").risk == Risk.REVERSIBLE  # a user unit of that name


def test_reload_signals_are_not_kills(classify: Callable[[str], Verdict]) -> None:
    for command in ("pkill -HUP sshd", "pkill --signal=USR1 nginx", "killall -s HUP nginx", "killall -USR1 dd",
                    "kill -HUP $(pidof sshd)", "pkill -0 -u bob"):
        assert classify(command).decision == Decision.ALLOW, command


def test_refusals_say_what_to_do_instead(classify: Callable[[str], Verdict]) -> None:
    cases = {
        "sudo apt remove nginx": ("apt-remove", "-s"),
        "sudo dnf remove httpd": ("dnf-remove", "--assumeno"),
        "sudo iptables -F": ("iptables-flush", "iptables-save"),
        "sudo ufw enable": ("ufw-enable", "allow"),
        "sudo systemctl stop nginx": ("systemctl-stop-service", "status"),
        "sudo pkill sshd": ("pkill-system-daemon", "systemctl"),
        "echo 'x ALL=(ALL) ALL' | sudo tee /etc/sudoers.d/x": ("sudoers-write", "visudo -c"),
    }
    for command, (rule, hint) in cases.items():
        match = next(m for m in classify(command).matches if m.rule == rule)
        assert match.suggest and hint in match.suggest, (command, match.suggest)


def test_remote_lockout_reasons_mention_it(classify: Callable[[str], Verdict]) -> None:
    for command in ("sudo iptables -P INPUT DROP", "sudo ufw default deny incoming", "sudo ip link set eth0 down",
                    "sudo systemctl stop sshd", "sudo nmcli networking off"):
        reasons = " ".join(m.reason for m in classify(command).matches)
        assert "ssh" in reasons or "locked out" in reasons or "lock" in reasons, command


def test_mount_with_a_type_over_a_system_directory(classify: Callable[[str], Verdict]) -> None:
    assert classify("sudo mount -t tmpfs tmpfs /etc").risk == Risk.DESTRUCTIVE


@pytest.mark.xfail(strict=True, reason="engine: no match key sees argv[0]'s directory (program is the basename), so "
                   "SysV init scripts (`/etc/init.d/NAME stop`) cannot be told apart from a program NAME; "
                   "/etc/init.d/ssh is even unwrapped as an ssh client")
def test_init_script_stop(classify: Callable[[str], Verdict]) -> None:
    assert classify("sudo /etc/init.d/nginx stop").risk == Risk.DESTRUCTIVE
    assert classify("sudo /etc/init.d/ssh stop").risk >= Risk.DESTRUCTIVE


def test_ip_netns_exec_is_a_wrapper(classify: Callable[[str], Verdict]) -> None:
    assert classify("sudo ip netns exec blue ip link set eth0 down").risk == Risk.DESTRUCTIVE
