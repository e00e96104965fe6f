#!/usr/bin/env bash
# Builds real OCI image layouts without a container daemon, with Debian's umoci:
#   <out>/clawback-oci   tags: agent (FROM scratch: the static agent only)
#                              controller (the controller and exactly the shared
#                              libraries it links, plus tzdata, passwd)
# The Containerfiles in packaging/oci describe the same images for buildah/docker
# users; this script is how CI proves them here. Copy to a registry with
#   skopeo copy oci:<out>/clawback-oci:agent docker://registry/clawback-agent:TAG
#
# usage: scripts/build-oci-images.sh BUILD_DIR OUT_DIR
set -euo pipefail
build=$(realpath "$1")
out=$(realpath -m "$2")
agent="$build/agent/clawback-agent"
controller="$build/controller/clawback"
[ -x "$agent" ] || { echo "build-oci-images: missing $agent (build first)" >&2; exit 1; }
[ -x "$controller" ] || { echo "build-oci-images: missing $controller (build first)" >&2; exit 1; }
command -v umoci >/dev/null || { echo "build-oci-images: umoci not installed (scripts/install-deps.sh)" >&2; exit 1; }

layout="$out/clawback-oci"
rm -rf "$layout" "$out/bundle-agent" "$out/bundle-controller"
mkdir -p "$out"
umoci init --layout "$layout"

# --- agent: scratch + one static binary ------------------------------------
umoci new --image "$layout:agent"
umoci unpack --image "$layout:agent" "$out/bundle-agent"
install -m 0755 "$agent" "$out/bundle-agent/rootfs/clawback-agent"
strip "$out/bundle-agent/rootfs/clawback-agent"
umoci repack --image "$layout:agent" "$out/bundle-agent"
umoci config --image "$layout:agent" --author clawback \
  --config.entrypoint /clawback-agent --config.entrypoint --listen --config.entrypoint 0.0.0.0:8443 \
  --config.entrypoint --cert --config.entrypoint /etc/clawback/agent.crt \
  --config.entrypoint --key --config.entrypoint /etc/clawback/agent.key \
  --config.entrypoint --ca --config.entrypoint /etc/clawback/ca.crt \
  --config.exposedports 8443/tcp

# --- controller: binary + its shared libraries -----------------------------
umoci new --image "$layout:controller"
umoci unpack --image "$layout:controller" "$out/bundle-controller"
root="$out/bundle-controller/rootfs"
install -D -m 0755 "$controller" "$root/usr/bin/clawback"
strip "$root/usr/bin/clawback"
# Copy every library the dynamic loader resolves, keeping its path.
ldd "$controller" | awk '/=> \//{print $3} /^\t\/lib/{print $1}' | sort -u | while read -r lib; do
  install -D -m 0755 "$(realpath "$lib")" "$root$lib"
done
mkdir -p "$root/usr/share" "$root/etc" "$root/var/lib/claworc" "$root/tmp"
cp -a /usr/share/zoneinfo "$root/usr/share/zoneinfo"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nclaworc:x:999:999:clawback:/var/lib/claworc:/usr/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\nclaworc:x:999:\n' > "$root/etc/group"
chown 999:999 "$root/var/lib/claworc"; chmod 0750 "$root/var/lib/claworc"; chmod 1777 "$root/tmp"
umoci repack --image "$layout:controller" "$out/bundle-controller"
umoci config --image "$layout:controller" --author clawback --config.user 999:999 \
  --config.env CLAWORC_DATA_PATH=/var/lib/claworc --config.volume /var/lib/claworc \
  --config.entrypoint /usr/bin/clawback --config.entrypoint serve \
  --config.entrypoint --listen --config.entrypoint 0.0.0.0:8080 --config.exposedports 8080/tcp

umoci gc --layout "$layout"
echo "$layout"
