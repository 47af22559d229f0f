"""The model repository on a host: one comparison, atomic placement, pruning; and the
controller's resolution of each version's source."""

import hashlib
import io
import json
import os
import subprocess

import pytest

from ansible_collections.inferops.triton.plugins.module_utils import _model_repository
from ansible_collections.inferops.triton.plugins.module_utils._model_repository import (
    DigestCache,
    RepositoryError,
    apply,
    cache_path,
    desired,
    diff,
    digest_from_sums,
    is_empty,
    parse_checksum,
    plan,
    resolve_sources,
)

ONNX_A = b"\x08\x07onnx-bytes-a" * 100
ONNX_B = b"\x08\x07onnx-bytes-b" * 100
SHA_A = hashlib.sha256(ONNX_A).hexdigest()
SHA_B = hashlib.sha256(ONNX_B).hexdigest()
CONFIG = 'name: "m"\nbackend: "onnxruntime"\nmax_batch_size: 8\n'


def model(name="m", config=CONFIG, versions=((1, SHA_A),)):
    return {"name": name, "config": config,
            "versions": [{"version": v, "sha256": sha, "key": f"https://x/{v}",
                          "url": f"https://x/{v}"} for v, sha in versions]}


def staged(tmp_path, *contents):
    staging = tmp_path / "staging"
    staging.mkdir(exist_ok=True)
    for data in contents:
        (staging / hashlib.sha256(data).hexdigest()).write_bytes(data)
    return str(staging)


def tree(root):
    """Every path under root with the sha256 of files: what 'byte for byte' compares."""
    out = {}
    for base, dirs, files in os.walk(root):
        for d in dirs:
            out[os.path.relpath(os.path.join(base, d), root) + "/"] = None
        for f in files:
            path = os.path.join(base, f)
            out[os.path.relpath(path, root)] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    return out


def converge(root, models, staging=None, prune=False, fetch=None):
    result = plan(root, models, prune)
    if not is_empty(result):
        apply(root, models, result, staging, fetch)
    return result


def test_an_empty_host_gets_everything_then_a_second_plan_is_empty(tmp_path):
    root = str(tmp_path / "models")
    result = converge(root, [model()], staged(tmp_path, ONNX_A))
    assert result["changed_models"] == ["m"]
    assert [c["name"] for c in result["configs"]] == ["m"]
    assert open(os.path.join(root, "m", "config.pbtxt")).read() == CONFIG
    assert open(os.path.join(root, "m", "1", "model.onnx"), "rb").read() == ONNX_A
    assert oct(os.stat(os.path.join(root, "m", "1", "model.onnx")).st_mode & 0o777) == "0o644"
    again = plan(root, [model()])
    assert is_empty(again) and again["changed_models"] == []
    # no temporary file is left beside the placed ones
    assert sorted(tree(root)) == ["m/", "m/1/", "m/1/model.onnx", "m/config.pbtxt"]


def test_a_changed_config_changes_only_the_config(tmp_path):
    root = str(tmp_path / "models")
    converge(root, [model()], staged(tmp_path, ONNX_A))
    new = CONFIG + "dynamic_batching {\n  max_queue_delay_microseconds: 500\n}\n"
    result = plan(root, [model(config=new)])
    assert result["files"] == [] and result["changed_models"] == ["m"]
    shown = diff(result, root)
    assert shown[0]["before"] == CONFIG and shown[0]["after"] == new
    apply(root, [model(config=new)], result)
    assert open(os.path.join(root, "m", "config.pbtxt")).read() == new


def test_a_new_file_is_placed_and_the_diff_names_both_digests(tmp_path):
    root = str(tmp_path / "models")
    converge(root, [model()], staged(tmp_path, ONNX_A))
    wanted = [model(versions=[(1, SHA_B)])]
    result = plan(root, wanted)
    assert [(f["name"], f["version"]) for f in result["files"]] == [("m", 1)]
    assert diff(result, root)[0]["before"] == f"sha256:{SHA_A}\n"
    assert diff(result, root)[0]["after"] == f"sha256:{SHA_B}\n"
    apply(root, wanted, result, staged(tmp_path, ONNX_B))
    assert open(os.path.join(root, "m", "1", "model.onnx"), "rb").read() == ONNX_B


def test_a_file_whose_digest_is_wrong_is_never_placed(tmp_path):
    root = str(tmp_path / "models")
    converge(root, [model()], staged(tmp_path, ONNX_A))
    before = tree(root)
    staging = staged(tmp_path)
    # a staged file under the expected name whose bytes are not the expected ones
    open(os.path.join(staging, SHA_B), "wb").write(ONNX_A + b"truncated?")
    wanted = [model(versions=[(1, SHA_B)], config=CONFIG + "# new\n")]
    with pytest.raises(RepositoryError, match="expected " + SHA_B):
        apply(root, wanted, plan(root, wanted), staging)
    assert tree(root) == before  # old file and old config kept, no temporary left


def test_a_download_on_the_host_is_verified_and_placed(tmp_path):
    root = str(tmp_path / "models")
    fetched = []

    def fetch(url):
        fetched.append(url)
        return io.BytesIO(ONNX_A)

    converge(root, [model()], staging=None, fetch=fetch)
    assert fetched == ["https://x/1"]
    assert open(os.path.join(root, "m", "1", "model.onnx"), "rb").read() == ONNX_A


def test_versions_and_models_not_wanted_are_kept_without_prune_and_removed_with_it(tmp_path):
    root = str(tmp_path / "models")
    both = [model(versions=[(1, SHA_A), (2, SHA_B)]), model(name="old")]
    converge(root, both, staged(tmp_path, ONNX_A, ONNX_B))
    wanted = [model(versions=[(2, SHA_B)])]
    kept = plan(root, wanted)
    assert kept["unmanaged"] == ["m/1", "old"] and is_empty(kept)
    pruned = converge(root, wanted, prune=True)
    assert pruned["remove"] == ["m/1", "old"] and pruned["removed_models"] == ["old"]
    assert pruned["changed_models"] == ["m"]
    assert sorted(tree(root)) == ["m/", "m/2/", "m/2/model.onnx", "m/config.pbtxt"]


def test_checksums_in_both_forms():
    assert parse_checksum("sha256:" + SHA_A.upper()) == ("hex", SHA_A)
    assert parse_checksum("sha256:http://h/m.onnx.sha256") == ("url", "http://h/m.onnx.sha256")
    for bad in ("md5:" + SHA_A, "sha256:", "sha256:abc"):
        with pytest.raises(RepositoryError):
            parse_checksum(bad)


def test_digest_from_real_sha256sum_output(tmp_path):
    # produced by the real sha256sum (coreutils), as a mirror publishes it
    (tmp_path / "resnet50.onnx").write_bytes(ONNX_A)
    (tmp_path / "other.onnx").write_bytes(ONNX_B)
    listing = subprocess.run(["sha256sum", "other.onnx", "resnet50.onnx"], cwd=tmp_path,
                             capture_output=True, text=True, check=True).stdout
    assert digest_from_sums(listing, "http://h/models/resnet50.onnx") == SHA_A
    binary = subprocess.run(["sha256sum", "-b", "resnet50.onnx"], cwd=tmp_path,
                            capture_output=True, text=True, check=True).stdout
    assert digest_from_sums(binary, "http://h/resnet50.onnx") == SHA_A
    with pytest.raises(RepositoryError, match="no sha256 for 'missing.onnx'"):
        digest_from_sums(listing, "http://h/missing.onnx")


def test_sources_resolve_once_per_distinct_file(tmp_path):
    cache = str(tmp_path / "cache")
    os.makedirs(cache)
    url = "http://127.0.0.1:1/m.onnx"
    open(cache_path(cache, url), "wb").write(ONNX_A)
    local = tmp_path / "local.onnx"
    local.write_bytes(ONNX_B)
    versions = [{"version": 1, "url": url, "checksum": f"sha256:{url}.sha256"},
                {"version": 1, "url": url, "checksum": f"sha256:{url}.sha256"},
                {"version": 2, "path": str(local)}]
    sources = resolve_sources(versions, cache)
    assert sources[url] == {"url": url, "checksum": f"sha256:{url}.sha256",
                            "src": cache_path(cache, url), "sha256": SHA_A}
    assert sources[str(local)]["sha256"] == SHA_B and sources[str(local)]["src"] == str(local)
    # each node downloads: no controller file, the digest left to the checksum URL
    node = resolve_sources(versions[:1], cache, "node")
    assert node[url]["src"] is None and node[url]["sha256"] is None


def test_a_controller_path_is_checked_before_any_host(tmp_path):
    local = tmp_path / "local.onnx"
    local.write_bytes(ONNX_B)
    with pytest.raises(RepositoryError, match="no such file on the controller"):
        resolve_sources([{"version": 1, "path": str(tmp_path / "absent.onnx")}], str(tmp_path))
    with pytest.raises(RepositoryError, match=f"has sha256 {SHA_B}, but its checksum says"):
        resolve_sources([{"version": 1, "path": str(local), "checksum": f"sha256:{SHA_A}"}],
                        str(tmp_path))


def test_desired_joins_rendered_configs_with_their_sources():
    version = {"version": 1, "url": "u", "checksum": "sha256:" + SHA_A}
    rendered = [{"name": "m", "pbtxt": CONFIG, "versions": [version]}]
    sources = {"u": {"src": "/c/x.onnx", "sha256": SHA_A, "url": "u",
                     "checksum": "sha256:" + SHA_A}}
    assert desired(rendered, sources) == [{"name": "m", "config": CONFIG, "versions": [
        {"version": 1, "key": "u", "sha256": SHA_A, "url": "u",
         "checksum": "sha256:" + SHA_A, "staged": True}]}]
    with pytest.raises(RepositoryError, match="no source 'u'"):
        desired(rendered, {})


def test_one_bad_file_leaves_no_file_config_or_directory_behind(tmp_path):
    root = str(tmp_path / "models")
    converge(root, [model()], staged(tmp_path, ONNX_A))
    before = tree(root)
    staging = staged(tmp_path, ONNX_A)
    open(os.path.join(staging, SHA_B), "wb").write(b"not the file")
    # a new model with a good file, and a new version of the old one whose file is bad
    wanted = [model(versions=[(1, SHA_A), (2, SHA_B)], config=CONFIG + "# new\n"),
              model(name="new", versions=[(1, SHA_A)])]
    with pytest.raises(RepositoryError, match="nothing was placed"):
        apply(root, wanted, plan(root, wanted), staging)
    assert tree(root) == before


def test_one_url_with_two_checksums_is_refused(tmp_path):
    url = "http://127.0.0.1:1/m.onnx"
    with pytest.raises(RepositoryError, match="is given two checksums"):
        resolve_sources([{"version": 1, "url": url, "checksum": "sha256:" + SHA_A},
                         {"version": 2, "url": url, "checksum": "sha256:" + SHA_B}],
                        str(tmp_path), "node")


# --- the digest cache: a converged host does not read every model file every run ----------

def placed(tmp_path, data=ONNX_A):
    root = tmp_path / "models"
    (root / "m" / "1").mkdir(parents=True)
    (root / "m" / "config.pbtxt").write_text(CONFIG)
    path = root / "m" / "1" / "model.onnx"
    path.write_bytes(data)
    return root, path


def counting(monkeypatch):
    reads = []
    real = _model_repository.sha256_file
    monkeypatch.setattr(_model_repository, "sha256_file",
                        lambda path: reads.append(path) or real(path))
    return reads


def test_a_cached_digest_is_not_read_again_until_the_file_changes(tmp_path, monkeypatch):
    reads = counting(monkeypatch)
    root, path = placed(tmp_path)
    cache = DigestCache(str(tmp_path / "cache" / "sha256.json"))
    assert is_empty(plan(str(root), [model()], digest=cache.sha256))
    cache.save()
    again = DigestCache(str(tmp_path / "cache" / "sha256.json"))
    assert is_empty(plan(str(root), [model()], digest=again.sha256))
    assert reads == [str(path)]  # the second run read nothing
    assert oct((tmp_path / "cache" / "sha256.json").stat().st_mode & 0o777) == "0o600"

    path.write_bytes(ONNX_B)  # same inode, new content: size, mtime and ctime move
    os.utime(path, ns=(0, 0))  # even with the old times put back, ctime has moved
    result = plan(str(root), [model()], digest=again.sha256)
    assert [item["sha256"] for item in result["files"]] == [SHA_A]
    assert reads == [str(path), str(path)]


def test_a_file_replaced_by_rename_is_read_again(tmp_path):
    root, path = placed(tmp_path)
    cache = DigestCache()
    assert cache.sha256(str(path)) == SHA_A
    other = tmp_path / "other.onnx"
    other.write_bytes(ONNX_B)
    os.replace(other, path)
    assert cache.sha256(str(path)) == SHA_B


def test_a_broken_or_foreign_cache_is_ignored_and_stale_entries_dropped(tmp_path):
    store = tmp_path / "sha256.json"
    store.write_text("{not json")
    root, path = placed(tmp_path)
    cache = DigestCache(str(store))
    assert cache.entries == {}
    cache.entries["/gone/model.onnx"] = {"stat": [0, 0, 0, 0, 0], "sha256": SHA_B}
    # a forged entry for a real path counts only if its stat matches, which it does not
    cache.entries[str(path)] = {"stat": [0, 0, 0, 0, 0], "sha256": SHA_B}
    assert cache.sha256(str(path)) == SHA_A
    cache.save()
    assert list(DigestCache(str(store)).entries) == [str(path)]


def test_placed_files_are_recorded_with_the_digest_they_were_checked_against(tmp_path):
    root = tmp_path / "models"
    result = plan(str(root), [model()])
    apply(str(root), [model()], result, staged(tmp_path, ONNX_A))
    cache = DigestCache()
    path = str(root / "m" / "1" / "model.onnx")
    cache.record(path, SHA_A)
    assert cache.entries[path]["sha256"] == SHA_A
    assert cache.sha256(path) == SHA_A


def test_the_sources_filter_keeps_controller_digests_while_the_file_is_unchanged(tmp_path):
    from ansible_collections.inferops.triton.plugins.filter.model_sources import model_sources

    cache = tmp_path / "cache"
    local = tmp_path / "local.onnx"
    local.write_bytes(ONNX_B)
    versions = [{"version": 1, "path": str(local)}]
    assert model_sources(versions, str(cache))[str(local)]["sha256"] == SHA_B
    kept = json.loads((cache / "sha256.json").read_text())
    assert kept[str(local)]["sha256"] == SHA_B
    # rewriting the file changes its ctime (and size): it is read again
    local.write_bytes(ONNX_A)
    assert model_sources(versions, str(cache))[str(local)]["sha256"] == SHA_A
    assert json.loads((cache / "sha256.json").read_text())[str(local)]["sha256"] == SHA_A
