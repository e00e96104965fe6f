#!/usr/bin/env bash
# Builds real OCI image layouts without a container daemon, with Debian's umoci
# (scripts/install-deps.sh installs it). One layout, OUT_DIR/clawback-oci, tags:
#
#   agent         FROM scratch: the static agent only, at /clawback-agent. The
#                 sidecar image of packaging/oci/Containerfile.sidecar.
#   controller    the controller and exactly the shared libraries it links,
#                 copied from this (Debian 12) build host as `ldd` resolves
#                 them, plus the dynamic loader, /usr/share/zoneinfo,
#                 /etc/passwd and /etc/group with the claworc user (uid 999),
#                 /etc/nsswitch.conf, /tmp and /var/lib/claworc. Runs as
#                 999:999. The image of Containerfile.controller (which
#                 installs the same libraries from Debian packages instead).
#   openclaw      only when OPENCLAW_BASE=LAYOUT:TAG names an OpenClaw image in
#                 an OCI layout (e.g. `skopeo copy docker://.../openclaw:TAG
#                 oci:/tmp/openclaw:base`): that image plus one layer with the
#                 agent at /usr/local/bin/clawback-agent and its s6-overlay
#                 longrun (packaging/oci/s6-rc.d) and its quiesce hooks at
#                 /etc/clawback-agent/hooks.json, as Containerfile.openclaw.
#   openclaw-layer  always: the layer above on an empty base, for inspection.
#
# Copy an image to a registry with
#   skopeo copy oci:OUT_DIR/clawback-oci:agent docker://REGISTRY/clawback-agent:TAG
# tests/packaging/oci_check.sh unpacks every tag (checking digests) and runs it
# in a chroot.
#
# usage: [OPENCLAW_BASE=LAYOUT:TAG] scripts/build-oci-images.sh BUILD_DIR OUT_DIR
# Prints the layout's path as its last line.
set -euo pipefail
[[ $# == 2 ]] || { sed -n '2,27p' "$0" >&2; exit 2; }
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath "$1")
out=$(realpath -m "$2")
agent="$build/agent/clawback-agent"
controller="$build/controller/clawback"
[[ -x "$agent" ]] || { echo "build-oci-images: missing $agent (build first)" >&2; exit 1; }
[[ -x "$controller" ]] || { echo "build-oci-images: missing $controller (build first)" >&2; exit 1; }
command -v umoci >/dev/null || { echo "build-oci-images: umoci not installed (scripts/install-deps.sh)" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "build-oci-images: run as root (the layers keep root and claworc owners)" >&2; exit 1; }
version=$("$agent" --version | awk '{print $2}')

layout="$out/clawback-oci"
bundles="$out/bundles"
rm -rf "$layout" "$bundles"
mkdir -p "$out" "$bundles"
umoci init --layout "$layout"

# Common labels (https://github.com/opencontainers/image-spec/blob/main/annotations.md).
labels=(--config.label "org.opencontainers.image.title=clawback"
        --config.label "org.opencontainers.image.version=$version"
        --config.label "org.opencontainers.image.source=packaging/oci")

# --- agent: scratch + one static binary ---------------------------------------
umoci new --image "$layout:agent"
umoci unpack --image "$layout:agent" "$bundles/agent" >/dev/null
install -m 0755 "$agent" "$bundles/agent/rootfs/clawback-agent"
strip "$bundles/agent/rootfs/clawback-agent"
umoci repack --image "$layout:agent" --history.created_by "COPY clawback-agent /clawback-agent" "$bundles/agent"
umoci config --image "$layout:agent" --author clawback "${labels[@]}" --config.user 0:0 \
  --config.entrypoint /clawback-agent --config.entrypoint --listen --config.entrypoint 0.0.0.0:8443 \
  --config.entrypoint --cert --config.entrypoint /etc/clawback/agent.crt \
  --config.entrypoint --key --config.entrypoint /etc/clawback/agent.key \
  --config.entrypoint --ca --config.entrypoint /etc/clawback/ca.crt \
  --config.exposedports 8443/tcp

# --- controller: binary + the shared libraries it links ------------------------
umoci new --image "$layout:controller"
umoci unpack --image "$layout:controller" "$bundles/controller" >/dev/null
root="$bundles/controller/rootfs"
install -D -m 0755 "$controller" "$root/usr/bin/clawback"
strip "$root/usr/bin/clawback"
# Every library the dynamic loader resolves, under the path it resolves
# (ldd's "=> /path" column), plus the loader itself (the line with no "=>").
ldd "$controller" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u |
  while read -r lib; do
    install -D -m 0755 "$(realpath "$lib")" "$root$lib"
  done
mkdir -p "$root/usr/share" "$root/etc" "$root/var/lib/claworc" "$root/tmp"
cp -a /usr/share/zoneinfo "$root/usr/share/zoneinfo"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nclaworc:x:999:999:clawback controller:/var/lib/claworc:/usr/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nclaworc:x:999:\n' >"$root/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
chown 999:999 "$root/var/lib/claworc"
chmod 0750 "$root/var/lib/claworc"
chmod 1777 "$root/tmp"
umoci repack --image "$layout:controller" \
  --history.created_by "clawback, its ldd libraries, zoneinfo, passwd (scripts/build-oci-images.sh)" "$bundles/controller"
umoci config --image "$layout:controller" --author clawback "${labels[@]}" --config.user 999:999 \
  --config.env PATH=/usr/bin:/bin --config.env CLAWORC_DATA_PATH=/var/lib/claworc \
  --config.env CLAWBACK_LOG_FORMAT=json \
  --config.volume /var/lib/claworc --config.workingdir /var/lib/claworc \
  --config.entrypoint /usr/bin/clawback --config.entrypoint serve \
  --config.entrypoint --listen --config.entrypoint 0.0.0.0:8080 --config.exposedports 8080/tcp

# --- openclaw: the agent and its s6-overlay longrun on an OpenClaw image --------
add_openclaw_layer() {  # ROOTFS
  install -D -m 0755 "$agent" "$1/usr/local/bin/clawback-agent"
  strip "$1/usr/local/bin/clawback-agent"
  mkdir -p "$1/etc/s6-overlay/s6-rc.d/user/contents.d"
  cp -a "$src/packaging/oci/s6-rc.d/clawback-agent" "$1/etc/s6-overlay/s6-rc.d/clawback-agent"
  cp -a "$src/packaging/oci/s6-rc.d/user/contents.d/clawback-agent" "$1/etc/s6-overlay/s6-rc.d/user/contents.d/"
  chmod 0755 "$1/etc/s6-overlay/s6-rc.d/clawback-agent/run"
  install -D -m 0644 "$src/packaging/oci/clawback-agent/hooks.json" "$1/etc/clawback-agent/hooks.json"
  chown -R 0:0 "$1/usr/local/bin/clawback-agent" "$1/etc/s6-overlay/s6-rc.d/clawback-agent" \
    "$1/etc/s6-overlay/s6-rc.d/user/contents.d/clawback-agent" "$1/etc/clawback-agent"
}
umoci new --image "$layout:openclaw-layer"
umoci unpack --image "$layout:openclaw-layer" "$bundles/openclaw-layer" >/dev/null
add_openclaw_layer "$bundles/openclaw-layer/rootfs"
umoci repack --image "$layout:openclaw-layer" --history.created_by "clawback-agent + s6-rc.d/clawback-agent" \
  "$bundles/openclaw-layer"
umoci config --image "$layout:openclaw-layer" --author clawback "${labels[@]}"

if [[ -n ${OPENCLAW_BASE:-} ]]; then
  base_layout=${OPENCLAW_BASE%:*} base_tag=${OPENCLAW_BASE##*:}
  [[ -f $base_layout/index.json && $base_tag != "$OPENCLAW_BASE" ]] ||
    { echo "build-oci-images: OPENCLAW_BASE must be LAYOUT:TAG of an OCI layout: $OPENCLAW_BASE" >&2; exit 1; }
  # Import the base manifest (and every blob) as tag openclaw-base.
  cp -n "$base_layout"/blobs/sha256/* "$layout/blobs/sha256/"
  python3 - "$base_layout/index.json" "$base_tag" "$layout/index.json" <<'PY'
import json, sys
base, tag, ours = sys.argv[1:]
ref = "org.opencontainers.image.ref.name"
m = [d for d in json.load(open(base))["manifests"] if d.get("annotations", {}).get(ref) == tag]
if len(m) != 1: sys.exit(f"build-oci-images: tag {tag} not found once in {base}")
idx = json.load(open(ours))
desc = dict(m[0]); desc["annotations"] = {ref: "openclaw-base"}
idx["manifests"].append(desc)
json.dump(idx, open(ours, "w"))
PY
  umoci unpack --image "$layout:openclaw-base" "$bundles/openclaw" >/dev/null
  add_openclaw_layer "$bundles/openclaw/rootfs"
  umoci repack --image "$layout:openclaw" --history.created_by "clawback-agent + s6-rc.d/clawback-agent" \
    "$bundles/openclaw"
  umoci config --image "$layout:openclaw" --config.user 0:0 --config.exposedports 8443/tcp  # USER root, as the Containerfile
  umoci rm --image "$layout:openclaw-base"
fi

rm -rf "$bundles"
umoci gc --layout "$layout"
echo "$layout"
