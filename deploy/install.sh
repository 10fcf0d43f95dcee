#!/usr/bin/env bash
# Installs a release build of Sluice on this host: the binary, a starter configuration (kept if
# one exists), a `sluice` system user, the systemd units and shell completion. Run as root from
# the repository: deploy/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product sluice
install -m 0755 .build/release/sluice /usr/local/bin/sluice
id sluice >/dev/null 2>&1 || useradd --system --home-dir /var/lib/sluice --shell /usr/sbin/nologin sluice
install -d -o sluice -g sluice -m 0750 /var/lib/sluice
install -d -m 0755 /etc/sluice
if [ ! -e /etc/sluice/sluice.yaml ]; then
    /usr/local/bin/sluice init --out /etc/sluice/sluice.yaml --data-dir /var/lib/sluice
    chown root:sluice /etc/sluice/sluice.yaml
    chmod 0640 /etc/sluice/sluice.yaml
fi
install -m 0644 deploy/sluice-director.service deploy/sluice-engine@.service /etc/systemd/system/
if [ -d /usr/share/bash-completion/completions ]; then
    /usr/local/bin/sluice --generate-completion-script bash > /usr/share/bash-completion/completions/sluice
fi
systemctl daemon-reload 2>/dev/null || true
echo "installed: edit /etc/sluice/sluice.yaml, then systemctl enable --now sluice-director sluice-engine@engine-a"
