"""The model repository on a host: one comparison, atomic placement, pruning; and the
controller's resolution of each version's source."""

import hashlib
import io
import os
import subprocess

import pytest

from ansible_collections.inferops.triton.plugins.module_utils.models import (
    _repository as _model_repository,
)
from ansible_collections.inferops.triton.plugins.module_utils.models._repository import (
    MODEL_NAME_RULE,
    DigestCache,
    RepositoryError,
    apply,
    check_model_name,
    desired,
    diff,
    digest_from_sums,
    is_empty,
    model_names,
    parse_checksum,
    plan,
    read_checksum_urls,
    to_stage,
)
from ansible_collections.inferops.triton.plugins.module_utils.models._sources_controller import (
    cache_path,
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


def test_a_checksum_url_is_read_for_the_versions_that_lack_a_sha256(tmp_path):
    # the listing the real sha256sum (coreutils) prints, as a mirror publishes it
    (tmp_path / "resnet50.onnx").write_bytes(ONNX_A)
    listing = subprocess.run(["sha256sum", "resnet50.onnx"], cwd=tmp_path,
                             capture_output=True, text=True, check=True).stdout.encode()
    fetched = []

    def fetch(url):
        fetched.append(url)
        return io.BytesIO(listing)

    known = {"version": 1, "sha256": SHA_B, "url": "http://h/other.onnx",
             "checksum": "sha256:" + SHA_B}
    read = {"version": 2, "sha256": None, "url": "http://h/models/resnet50.onnx",
            "checksum": "sha256:http://h/models/resnet50.onnx.sha256"}
    models = [{"name": "m", "config": CONFIG, "versions": [known, read]}]
    read_checksum_urls(models, fetch)
    assert fetched == ["http://h/models/resnet50.onnx.sha256"]
    assert [v["sha256"] for v in models[0]["versions"]] == [SHA_B, SHA_A]


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


def test_the_files_the_controller_provides_are_staged_once_each_where_apply_reads_them(
        tmp_path):
    root = str(tmp_path / "models")
    sources = {"https://x/a": {"src": "/c/a.onnx"}, "https://x/b": {"src": None},
               "/srv/m.onnx": {"src": "/srv/m.onnx"}}
    provided = desired([
        {"name": "m", "pbtxt": CONFIG, "versions": [
            {"version": 1, "url": "https://x/a"}, {"version": 2, "url": "https://x/b"},
            {"version": 3, "path": "/srv/m.onnx"}]},
        {"name": "n", "pbtxt": CONFIG, "versions": [{"version": 1, "url": "https://x/a"}]}],
        {"https://x/a": dict(sources["https://x/a"], sha256=SHA_A),
         "https://x/b": dict(sources["https://x/b"], sha256=SHA_B, url="https://x/b"),
         "/srv/m.onnx": dict(sources["/srv/m.onnx"], sha256=SHA_B)})
    result = plan(root, provided)
    staging = str(tmp_path / "staging")
    stage = to_stage(result["files"], sources, staging)
    # one copy per file (m/1 and n/1 are one file); the node downloads https://x/b itself
    assert stage == [
        {"key": "https://x/a", "sha256": SHA_A, "src": "/c/a.onnx",
         "dest": os.path.join(staging, SHA_A)},
        {"key": "/srv/m.onnx", "sha256": SHA_B, "src": "/srv/m.onnx",
         "dest": os.path.join(staging, SHA_B)}]
    assert to_stage(result["files"], sources, None) == []
    # the copies made where it says, apply places every version of both models from them
    os.makedirs(staging)
    for item, data in zip(stage, (ONNX_A, ONNX_B)):
        open(item["dest"], "wb").write(data)
    apply(root, provided, result, staging, fetch=lambda url: io.BytesIO(ONNX_B))
    assert is_empty(plan(root, provided))


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


# --- nothing is written or removed outside the repository (issue 19) ----------------------

BAD_NAMES = [
    # (name, the reason check_model_name gives)
    ("../../../../tmp/pwned", "it is a path, not a single directory name"),
    ("../outside", "it is a path, not a single directory name"),
    ("a/b", "it is a path, not a single directory name"),
    ("/abs", "it is a path, not a single directory name"),
    ("a\\b", "it is a path, not a single directory name"),
    ("my model", "it contains ' '"),
    (".", "it starts with '.'"),
    ("..", "it starts with '.'"),
    (".hidden", "it starts with '.'"),
    ("-rf", "it starts with '-'"),
    ("m\n", "it contains '\\n'"),
    ("m\x00", "it contains '\\x00'"),
    ("m\x7f", "it contains '\\x7f'"),
    ("", "it is empty"),
    ("m" * 129, "it has 129 characters"),
    (None, "it is not a string"),
]
GOOD_NAMES = ["resnet50", "resnet50-next", "bert_base.v2", "m", "0", "_", "m" * 128]


@pytest.mark.parametrize("name,why", BAD_NAMES, ids=[repr(n)[:40] for n, _w in BAD_NAMES])
def test_the_name_rule_refuses_what_is_not_one_directory_name(name, why):
    assert check_model_name(name) == why


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_the_name_rule_accepts_directory_names(name):
    assert check_model_name(name) is None


def test_model_names_are_the_entries_names_each_checked_by_the_name_rule():
    assert model_names([{"name": name, "versions": []} for name in GOOD_NAMES]) == GOOD_NAMES
    assert model_names(({"name": "m"},)) == ["m"] and model_names(None) == []
    bad = [{"name": name} for name, _why in BAD_NAMES]
    with pytest.raises(RepositoryError) as err:
        model_names([{"name": "m"}, *bad])
    assert str(err.value).split("; use letters", maxsplit=1)[0] == \
        f"models[1] ({BAD_NAMES[0][0]!r}): name {BAD_NAMES[0][0]!r} is not a model directory " \
        f"name: {BAD_NAMES[0][1]}"
    assert str(err.value).count(MODEL_NAME_RULE) == len(BAD_NAMES)


def everything(path):
    """Every path under ``path`` (symlinks listed, not followed) with what a file holds."""
    out = {}
    for base, dirs, files in os.walk(path):
        for entry in dirs + files:
            full = os.path.join(base, entry)
            if os.path.islink(full):
                out[os.path.relpath(full, path)] = "-> " + os.readlink(full)
            elif os.path.isfile(full):
                out[os.path.relpath(full, path)] = open(full, "rb").read()
            else:
                out[os.path.relpath(full, path) + "/"] = None
    return out


def forged(name, versions=((1, SHA_A),), remove=()):
    """A plan result made by hand, as if ``plan`` had let ``name`` through."""
    wanted = model(name=name, versions=versions)
    return {"configs": [{"name": name, "before": None, "after": CONFIG}],
            "files": [dict(v, name=name) for v in wanted["versions"]],
            "remove": list(remove), "unmanaged": [], "changed_models": [name],
            "removed_models": []}


@pytest.mark.parametrize("name", [n for n, _w in BAD_NAMES if isinstance(n, str)],
                         ids=[repr(n)[:40] for n, _w in BAD_NAMES if isinstance(n, str)])
def test_a_bad_name_changes_nothing_in_or_out_of_the_repository(tmp_path, name):
    root = str(tmp_path / "models")
    staging = staged(tmp_path, ONNX_A)
    converge(root, [model()], staging)
    before = everything(tmp_path)
    target = os.path.normpath(os.path.join(root, name.replace("\x00", "")))
    existed = os.path.lexists(target)
    wanted = [model(), model(name=name)]
    with pytest.raises(RepositoryError) as err:
        plan(root, wanted)
    assert f"models[1] ({name!r}): name {name!r} is not a model directory name" in str(err.value)
    assert MODEL_NAME_RULE in str(err.value)
    # apply checks for itself, before its first write, whatever result it is handed
    with pytest.raises(RepositoryError, match="is not a model directory name"):
        apply(root, wanted, forged(name), staging)
    with pytest.raises(RepositoryError, match=r"models\[0\]"):
        desired([{"name": name, "pbtxt": CONFIG, "versions": []}], {})
    assert everything(tmp_path) == before
    assert os.path.lexists(target) == existed  # e.g. /tmp/pwned did not appear


def test_every_bad_model_is_reported_at_once_on_the_host(tmp_path):
    with pytest.raises(RepositoryError) as err:
        plan(str(tmp_path / "models"), [model(name="a/b"), model(), model(name=".."),
                                        model(name="m2", versions=[(1, "../../x")])])
    text = str(err.value)
    assert "models[0] ('a/b')" in text and "models[2] ('..')" in text
    assert "model 'm2' version 1: sha256 '../../x' is not 64 lowercase hex digits" in text
    assert "models[1]" not in text


def outside_link(tmp_path, link):
    """``link`` (a path in the repository) made a symlink to a directory outside it."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep").write_text("not the repository's")
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(elsewhere, target_is_directory=True)
    return elsewhere


@pytest.mark.parametrize("where", ["m", "m/1"])
def test_a_model_or_version_directory_linked_out_of_the_repository_is_refused(tmp_path, where):
    root = tmp_path / "models"
    elsewhere = outside_link(tmp_path, root / where)
    staging = staged(tmp_path, ONNX_A)
    before = everything(tmp_path)
    with pytest.raises(RepositoryError) as err:
        plan(str(root), [model()])
    text = str(err.value)
    assert text.startswith("model 'm': ")
    assert f"resolves to {elsewhere}" in text and f"outside the repository {root}" in text
    with pytest.raises(RepositoryError, match=f"resolves to {elsewhere}"):
        apply(str(root), [model()], forged("m"), staging)
    assert everything(tmp_path) == before  # not followed: nothing written in elsewhere


@pytest.mark.parametrize("where", ["old", "m/2"])
def test_prune_does_not_remove_through_a_symlink_out_of_the_repository(tmp_path, where):
    root = tmp_path / "models"
    converge(str(root), [model()], staged(tmp_path, ONNX_A))
    outside_link(tmp_path, root / where)
    before = everything(tmp_path)
    assert plan(str(root), [model()])["unmanaged"] == [where]  # reported, kept
    with pytest.raises(RepositoryError, match="prune would remove a path outside"):
        plan(str(root), [model()], prune=True)
    with pytest.raises(RepositoryError, match="outside the repository"):
        apply(str(root), [model()], dict(plan(str(root), [model()]), remove=[where]))
    with pytest.raises(RepositoryError, match="outside the repository"):
        apply(str(root), [model()], dict(plan(str(root), [model()]), remove=[".."]))
    assert everything(tmp_path) == before


def test_a_staged_file_linked_out_of_staging_is_not_read(tmp_path):
    root = tmp_path / "models"
    staging = tmp_path / "staging"
    staging.mkdir()
    secret = tmp_path / "secret.onnx"
    secret.write_bytes(ONNX_A)
    (staging / SHA_A).symlink_to(secret)
    with pytest.raises(RepositoryError) as err:
        apply(str(root), [model()], plan(str(root), [model()]), str(staging))
    assert "model 'm': " in str(err.value)
    assert f"resolves to {secret}, outside the staging directory {staging}" in str(err.value)
    assert not root.exists()


def test_a_repository_that_is_itself_a_symlink_still_converges(tmp_path):
    # The containment is of the resolved repository: a linked root is not "outside" itself.
    real = tmp_path / "data" / "models"
    real.mkdir(parents=True)
    root = tmp_path / "models"
    root.symlink_to(real, target_is_directory=True)
    converge(str(root), [model()], staged(tmp_path, ONNX_A))
    assert (real / "m" / "1" / "model.onnx").read_bytes() == ONNX_A
    assert is_empty(plan(str(root), [model()], prune=True))


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
