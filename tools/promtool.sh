#!/usr/bin/env bash
# Make promtool available to the controller and CI without root and without a service:
# Debian's `prometheus` package (Debian 12: 2.42.0+ds-5+deb12u1, the version the monitoring
# hosts run) is fetched with `apt-get download` and unpacked with `dpkg-deb -x` under
# build/promtool; nothing is installed and nothing is started. Prints the binary's path.
# Idempotent: when the binary is there (and runs), nothing is downloaded.
#
# Trust: `apt-get download` fetches the .deb through apt's acquire system, which checks it
# against the size and SHA256 that the Packages index lists for it; that index is itself
# checked against the InRelease file signed by the archive key (debian-archive-keyring), so a
# package that does not match the signed index is refused ("Hash Sum mismatch"), and a package
# from a source apt cannot authenticate is refused unless --allow-unauthenticated is given
# (it is not). The lists come from the host's last `apt-get update`.
#
#   tools/promtool.sh                        # -> <checkout>/build/promtool/usr/bin/promtool
#   PROMTOOL_DEB_VERSION=2.42.0+ds-5+deb12u1 tools/promtool.sh   # pin the package version
#   PROMTOOL_DIR=/elsewhere tools/promtool.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${PROMTOOL_DIR:-$root/build/promtool}
bin=$dest/usr/bin/promtool
version=${PROMTOOL_DEB_VERSION:-}

if [[ -x $bin ]] && "$bin" --version >/dev/null 2>&1; then
  echo "$bin"
  exit 0
fi

for tool in apt-get dpkg-deb; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "promtool.sh: $tool not found: this script needs a Debian or Ubuntu host" >&2
    exit 1
  fi
done

mkdir -p "$(dirname "$dest")"
work=$(mktemp -d "$(dirname "$dest")/.promtool.XXXXXX")
trap 'rm -rf "$work"' EXIT
# A fresh machine may have no apt lists yet: as root, read them once and try again.
if ! (cd "$work" && apt-get download "prometheus${version:+=$version}") >&2 \
   && ! { [[ $(id -u) == 0 ]] && apt-get update -qq >&2 \
          && (cd "$work" && apt-get download "prometheus${version:+=$version}") >&2; }; then
  echo "promtool.sh: apt-get download prometheus${version:+=$version} failed" \
    "(is the package in the host's apt lists? \`apt-cache policy prometheus\`)" >&2
  exit 1
fi
debs=("$work"/prometheus_*.deb)
dpkg-deb -x "${debs[0]}" "$work/root"
"$work/root/usr/bin/promtool" --version >&2
# What was unpacked, for the record: package, version and the .deb's sha256.
{
  dpkg-deb -f "${debs[0]}" Package Version Architecture
  echo "SHA256: $(sha256sum "${debs[0]}" | cut -d' ' -f1)"
} > "$work/root/DEB-INFO"
rm -rf "$dest"
mv "$work/root" "$dest"
echo "$bin"
