#!/usr/bin/env bash
# ansible-test sanity, offline: the collection must sit at .../ansible_collections/inferops/triton
# as real files (a copy of what git tracks, plus files not yet committed), and ansible-test's
# download of get-pip.py is answered from its cache with the stdlib's ensurepip.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# Outside the checkout (ansible-test asks git), one directory per run, so two checkouts on
# one machine do not remove each other's copy.
work=$(mktemp -d "${TMPDIR:-/tmp}/inferops-triton-sanity.XXXXXX")
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/inferops/triton"
mkdir -p "$dest"
(cd "$root" && git ls-files -z --cached --others --exclude-standard \
   | xargs -0 -I{} sh -c 'if test -e "{}"; then printf "%s\0" "{}"; fi' \
   | tar --null -T - -cf -) | tar -C "$dest" -xf -
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
for name in get_pip_24_2.py get_pip_25_0_1.py get_pip_25_1_1.py; do
  printf 'import ensurepip\nensurepip.bootstrap(upgrade=True)\n' > "$cache/$name"
done
cd "$dest"
"$root/.venv/bin/ansible-test" sanity --venv --python 3.11 "$@"
