#!/usr/bin/env bash
# The collection tarball must hold the collection and nothing generated.
set -euo pipefail
tarball=$1
listing=$(tar -tzf "$tarball")
bad=$(grep -E '(^|/)(\.venv|\.git|build|benchmark-results|\.pytest_cache|\.ruff_cache|__pycache__|\.ansible)(/|$)|\.onnx$|\.onnx\.sha256$|\.tar(\.gz)?$|\.pyc$' <<<"$listing" || true)
# The lab, its benchmarks, molecule scenarios and integration tests need this repository's
# lab (node containers, a local registry, a signed apt repo); users of the collection do not.
bad+=$(grep -E '^(lab|benchmarks|molecule|tests/integration)(/|$)' <<<"$listing" || true)
if [ -n "$bad" ]; then
  echo "collection tarball $tarball holds generated files:" >&2
  echo "$bad" | head -20 >&2
  exit 1
fi
for needed in galaxy.yml MANIFEST.json meta/runtime.yml plugins/modules/image_build.py roles/triton_server/tasks/main.yml; do
  [ "$needed" = galaxy.yml ] && continue
  grep -qx "$needed" <<<"$listing" || { echo "collection tarball lacks $needed" >&2; exit 1; }
done
echo "collection tarball $(basename "$tarball"): $(wc -l <<<"$listing") entries, $(du -h "$tarball" | cut -f1), nothing generated"
