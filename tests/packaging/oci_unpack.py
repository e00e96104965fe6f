#!/usr/bin/python3
"""oci_unpack.py LAYOUT TAG ROOTFS CONFIG_JSON

Unpacks one image of an OCI image layout without umoci or a daemon, checking
it against the image-spec on the way:
  * oci-layout says imageLayoutVersion 1.0.0; index.json names TAG exactly once
    (annotation org.opencontainers.image.ref.name);
  * every blob (manifest, config, layers) has the sha256 digest and the size
    its descriptor states; media types are the OCI ones;
  * the config's rootfs.diff_ids are the sha256 of each uncompressed layer,
    one per layer, in order; the config names os linux and an architecture;
  * layers are extracted in order with GNU tar (numeric owners kept); names
    must be relative and free of "..", whiteouts (.wh.*) delete what lower
    layers put there.
Writes the image config to CONFIG_JSON and prints one line per layer:
"layer N: COMPRESSED_BYTES gz, UNCOMPRESSED_BYTES tar, ENTRIES entries".
Exits 1 with a message on the first violation.
"""
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile

REF = "org.opencontainers.image.ref.name"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_GZ = "application/vnd.oci.image.layer.v1.tar+gzip"


def die(msg):
    sys.exit(f"oci_unpack: {msg}")


def blob(layout, desc, media_type):
    if desc.get("mediaType") != media_type:
        die(f"{desc.get('digest')}: mediaType {desc.get('mediaType')}, want {media_type}")
    algo, _, hexd = desc["digest"].partition(":")
    if algo != "sha256" or len(hexd) != 64:
        die(f"unsupported digest {desc['digest']}")
    path = os.path.join(layout, "blobs", "sha256", hexd)
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    if h.hexdigest() != hexd:
        die(f"blob {hexd} has digest sha256:{h.hexdigest()}")
    if size != desc["size"]:
        die(f"blob {hexd} is {size} bytes, descriptor says {desc['size']}")
    return path


def main():
    if len(sys.argv) != 5:
        die(__doc__)
    layout, tag, rootfs, config_out = sys.argv[1:]
    with open(os.path.join(layout, "oci-layout")) as f:
        if json.load(f).get("imageLayoutVersion") != "1.0.0":
            die("oci-layout is not imageLayoutVersion 1.0.0")
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    if index.get("schemaVersion") != 2:
        die("index.json schemaVersion is not 2")
    found = [d for d in index["manifests"] if d.get("annotations", {}).get(REF) == tag]
    if len(found) != 1:
        die(f"tag {tag!r} appears {len(found)} times in index.json")
    with open(blob(layout, found[0], MANIFEST)) as f:
        manifest = json.load(f)
    if manifest.get("schemaVersion") != 2:
        die("manifest schemaVersion is not 2")
    with open(blob(layout, manifest["config"], CONFIG)) as f:
        config = json.load(f)
    if config.get("os") != "linux" or not config.get("architecture"):
        die(f"config os/architecture: {config.get('os')}/{config.get('architecture')}")
    diff_ids = config.get("rootfs", {}).get("diff_ids", [])
    layers = manifest.get("layers", [])
    if config.get("rootfs", {}).get("type") != "layers" or len(diff_ids) != len(layers):
        die(f"{len(layers)} layers but {len(diff_ids)} diff_ids")

    os.makedirs(rootfs, exist_ok=True)
    for n, (desc, diff_id) in enumerate(zip(layers, diff_ids)):
        path = blob(layout, desc, LAYER_GZ)
        h = hashlib.sha256()
        raw = 0
        with gzip.open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
                raw += len(chunk)
        if "sha256:" + h.hexdigest() != diff_id:
            die(f"layer {n}: uncompressed digest sha256:{h.hexdigest()} != diff_id {diff_id}")
        entries = 0
        whiteouts = []
        with tarfile.open(path, "r:gz") as t:
            for m in t:
                entries += 1
                name = os.path.normpath(m.name)
                if name.startswith("/") or name == ".." or name.startswith("../"):
                    die(f"layer {n}: unsafe entry name {m.name!r}")
                base = os.path.basename(name)
                if base.startswith(".wh."):
                    whiteouts.append(name)
        for name in whiteouts:  # applied before the layer's own files land
            parent, base = os.path.split(name)
            target = os.path.join(rootfs, parent)
            if base == ".wh..wh..opq":
                for child in os.listdir(target) if os.path.isdir(target) else []:
                    p = os.path.join(target, child)
                    shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.unlink(p)
            else:
                p = os.path.join(target, base[len(".wh."):])
                if os.path.lexists(p):
                    shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.unlink(p)
        cmd = ["tar", "-xzf", path, "-C", rootfs, "--numeric-owner", "--same-owner",
               "--same-permissions", "--exclude=.wh.*", "--exclude=*/.wh.*"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            die(f"layer {n}: {' '.join(cmd)}: {r.stderr.strip()}")
        print(f"layer {n}: {desc['size']} gz, {raw} tar, {entries} entries")
    with open(config_out, "w") as f:
        json.dump(config, f, indent=1)


if __name__ == "__main__":
    main()
