#!/bin/sh
# Runs inside the freshly bootstrapped root file system (chroot) once per image build.
# Per-host files (hostname, address, keys, apt proxy) are written by lab.py into each host's
# copy-on-write layer, so that one image serves every host.
set -eu

# systemd-networkd gives host0 its static address (10-host0.network, written per host).
systemctl enable systemd-networkd.service

# Background apt runs would hold the dpkg lock while roles install packages.
systemctl mask apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service

# One host key type; each host gets its own key in its layer, so known_hosts can be strict.
rm -f /etc/ssh/ssh_host_*
mkdir -p /etc/ssh/sshd_config.d
cat > /etc/ssh/sshd_config.d/10-lab.conf <<'EOF'
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
PermitRootLogin prohibit-password
EOF

cat > /etc/apt/sources.list <<'EOF'
deb http://deb.debian.org/debian SUITE main
deb http://deb.debian.org/debian SUITE-updates main
deb http://deb.debian.org/debian-security SUITE-security main
EOF
sed -i "s/SUITE/$LAB_SUITE/g" /etc/apt/sources.list

# No name server: the hosts have no route out, and an unreachable resolver costs
# every fact gathering ~10 s in getfqdn. Lab names come from /etc/hosts.
: > /etc/resolv.conf
rm -f /etc/hostname
: > /etc/machine-id
install -d -m 0700 /root/.ssh
apt-get clean
