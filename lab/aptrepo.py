"""A signed apt repository laid out like repo.radeon.com, for the rocm role's tests.

repo.radeon.com is not reachable from the lab. This builds a stand-in of the same shape
that the role's real apt path runs against (key download and fingerprint check, deb822
sources with Signed-By, the pin, ``apt-get update`` verifying InRelease, ``apt-get
install``, holds):

    <out>/rocm/rocm.gpg.key                          the armored signing key
    <out>/rocm/apt/<dir>/dists/<suite>/...          rocm-core, rocminfo, rocm, migraphx
    <out>/graphics/<dir>/ubuntu/dists/<suite>/...   (no packages: a valid empty index)
    <out>/amdgpu/<drv>/ubuntu/dists/<suite>/...     amdgpu-dkms, amdgpu-dkms-firmware
    <out>/distro/dists/<suite>/...                  linux-headers-<kernel>,
                                                    linux-modules-extra-<kernel>
    <out>/distro-rocm/dists/<codename>/...          the distribution's own rocm-core and
                                                    rocminfo (bookworm, noble)
    <out>/device-metrics-exporter/apt/<ver>/dists/<suite>/...
                                                    amdgpu-exporter (see below)
    <out>/standin.json                              the key's fingerprint, what was built,
                                                    every package's version

for AMD's suites ``jammy`` (AMD's builds for Debian 12) and ``noble`` (Ubuntu 24.04). The
packages carry AMD's names and version shapes but no driver or ROCm code: each holds a
note saying it is a stand-in, and ``rocm-core`` lays out ``/opt/rocm-<ver>/.info/version``
and the ``/opt/rocm`` link as the real one does. ``rocm`` depends on exact versions of
``rocm-core`` and ``rocminfo``, as AMD's meta packages do. The ``distro`` repository stands in
for the distribution's kernel header packages, which do not exist for the lab's kernel.

The Release files of AMD's three repositories say ``Origin: repo.radeon.com`` and ``Label:
repo.radeon.com``, as AMD's own do (rocm/apt/6.2.4/dists/noble/Release quoted in ROCm/ROCm#4022,
amdgpu/latest/ubuntu/dists/noble/InRelease in ROCm/ROCm#5625): the stand-in is a mirror that
keeps AMD's Release files. Every Release is signed by a lab key (ed25519, made once with gpg in
``<out>/.gnupg``, never copied to a node) in place of AMD's.

``distro-rocm`` stands in for the distribution's own ROCm packages, which have the same names
as AMD's and higher version strings (Ubuntu 24.04 ships rocminfo 5.7.1, AMD's is
1.0.0.70200): ``Origin``/``Label`` ``Debian`` (suite ``bookworm``) or ``Ubuntu`` (``noble``),
rocminfo at the distributions' version and rocm-core at an invented ``7.2.2-1``-style version
that sorts above AMD's 7.2.0.70200. A node that lists it at the default priority 500 installs
AMD's ``rocm`` only if the pin lifts AMD's repositories above it; with a pin that matches
nothing apt takes the distribution's rocm-core and rocminfo and ``apt-get install rocm`` fails
on AMD's exact-version dependencies.

``amdgpu-exporter`` is made from AMD's own files in the device metrics exporter snapshot
(``../shared/upstream/rocm-device-metrics-exporter-docs.tar.gz``, or INFEROPS_UPSTREAM): its
control file (``Version: BUILD_VER_ENV`` set to the release) and its two systemd units,
``amd-metrics-exporter.service`` and ``gpuagent.service``, unchanged, with the files they name:
``/usr/local/etc/metrics/gpuagent.conf`` (a comment; AMD's content is not in the snapshot) and
stand-ins for ``/usr/local/bin/gpuagent`` (listens on its socket) and
``/usr/local/bin/amd-metrics-exporter`` (reads config.json, serves a fixed /metrics on its
ServerPort), Python scripts from ``lab/exporter_standin/`` - no GPU is read. Its Release
carries AMD's Origin, as AMD's other repositories do. Without the snapshot it is left out,
saying so. The stand-in ``amdgpu-dkms`` records, when it is installed, which of the
exporter's units were active (``/var/lib/amdgpu-dkms-standin/exporter-at-install``), so a
test can see that the rocm role stopped them first.

A second run with the same recipe costs nothing.

    aptrepo.py build --out build/aptrepo --kernel-headers "$(uname -r)"

Standard library, gpg (installed when missing) and dpkg-deb only.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from email.utils import formatdate
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import labctl  # noqa: E402

ROCM = {"version": "7.2.0", "dir": "7.2", "build": "43", "amdgpu": "30.30", "graphics": "7.2"}
SUITES = {"jammy": "22.04", "noble": "24.04"}
# The Release fields of AMD's repositories (see above).
AMD_RELEASE = {"Origin": "repo.radeon.com", "Label": "repo.radeon.com"}
KERNEL_RELEASE = {"Origin": "inferops lab", "Label": "kernel header stand-in"}
# The distribution's own ROCm packages: codename -> Release Origin/Label and versions.
# rocminfo at the versions Debian 12 (main) and Ubuntu 24.04 (universe) ship (apt-cache policy
# on the lab's nodes); neither ships rocm-core: its version is invented, above AMD's 7.2.0.70200.
DISTRO_ROCM = {
    "bookworm": {"origin": "Debian",
                 "versions": {"rocm-core": "7.2.2-1", "rocminfo": "5.2.3-2"}},
    "noble": {"origin": "Ubuntu",
              "versions": {"rocm-core": "7.2.2-1ubuntu1", "rocminfo": "5.7.1-3build1"}},
}
MAINTAINER = "inferops lab <lab@inferops.invalid>"
KEY_UID = "inferops lab stand-in for repo.radeon.com <lab@inferops.invalid>"
NOTE = ("This package is a stand-in made by inferops.triton's lab (lab/aptrepo.py) with the "
        "name of an AMD package. It contains no driver and no ROCm code.\n")
EPOCH = 1767225600  # fixed file times, so the same recipe gives the same packages
# AMD's device metrics exporter (deb-package.rst: device-metrics-exporter/apt/<version>).
EXPORTER = {"version": "1.5.2", "repo": "device-metrics-exporter/apt/1.5.2"}
EXPORTER_TARBALL = "rocm-device-metrics-exporter-docs.tar.gz"
EXPORTER_UNITS = ("amd-metrics-exporter.service", "gpuagent.service")
STANDIN_DIR = Path(__file__).resolve().parent / "exporter_standin"
UPSTREAM = Path(os.environ.get("INFEROPS_UPSTREAM",
                               Path(__file__).resolve().parents[2] / "shared" / "upstream"))
# The stand-in driver's postinst: which exporter units run while the driver is installed.
DRIVER_POSTINST = """#!/bin/sh
# inferops lab stand-in: no driver is built. Record which of AMD's GPU metrics exporter units
# were active while the driver was installed (the rocm role stops them first).
mkdir -p /var/lib/amdgpu-dkms-standin
systemctl is-active amd-metrics-exporter.service gpuagent.service \
  device-metrics-exporter.service > /var/lib/amdgpu-dkms-standin/exporter-at-install 2>&1 || true
exit 0
"""


def log(msg: str) -> None:
    print(f"aptrepo: {msg}", file=sys.stderr, flush=True)


def gpg(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["gpg", "--homedir", str(home), "--batch", "--quiet", *args],
                          check=check, capture_output=True)


def ensure_key(home: Path) -> str:
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    listing = gpg(home, "--with-colons", "--list-secret-keys", check=False).stdout.decode()
    if "fpr:" not in listing:
        log("making the lab signing key (ed25519)")
        gpg(home, "--pinentry-mode", "loopback", "--passphrase", "",
            "--quick-generate-key", KEY_UID, "ed25519", "sign", "never")
        listing = gpg(home, "--with-colons", "--list-secret-keys").stdout.decode()
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


def _pkg(name, version, files=None, links=None, depends=None, arch="amd64", scripts=None,
         control=None, modes=None):
    return {"Package": name, "Version": version, "Architecture": arch,
            "Depends": ", ".join(depends or []), "files": files or {}, "links": links or {},
            "scripts": scripts or {}, "control": control, "modes": modes or {}}


def exporter_tarball() -> Path | None:
    path = UPSTREAM / EXPORTER_TARBALL
    return path if path.is_file() else None


def exporter_package(tarball: Path) -> dict:
    """``amdgpu-exporter`` from AMD's control file and units (unchanged), with stand-in
    binaries at the paths the units run."""
    with tarfile.open(tarball) as tar:
        def member(suffix):
            (name,) = [n for n in tar.getnames() if n.endswith(suffix)]
            return tar.extractfile(name).read().decode()
        control = member("debian/DEBIAN/control")
        units = {unit: member(f"debian/usr/lib/systemd/system/{unit}")
                 for unit in EXPORTER_UNITS}
    control = control.replace("BUILD_VER_ENV", EXPORTER["version"])
    files = {f"usr/lib/systemd/system/{unit}": text for unit, text in units.items()}
    files["usr/local/etc/metrics/gpuagent.conf"] = (
        "# inferops lab stand-in: AMD's package ships this file (its units read it); its\n"
        "# content is not in the snapshot.\n")
    for name in ("gpuagent", "amd-metrics-exporter"):
        script = STANDIN_DIR / f"{name.replace('-', '_')}.py"
        files[f"usr/local/bin/{name}"] = "#!/usr/bin/python3\n" + script.read_text()
    return _pkg("amdgpu-exporter", EXPORTER["version"], files=files, control=control,
                modes={"usr/local/bin/gpuagent": 0o755,
                       "usr/local/bin/amd-metrics-exporter": 0o755})


def packages(kernel: str, suite: str) -> dict[str, list[dict]]:
    """AMD's repositories (and the kernel stand-in) -> the packages each carries for one suite."""
    release = SUITES[suite]
    # AMD's shapes: rocm-core 7.2.0.70200-43~24.04, rocminfo 1.0.0.70200-43~24.04,
    # amdgpu-dkms 1:6.16.13.30300000-...
    major, minor, patch = (int(part) for part in ROCM["version"].split("."))
    numeric = f"{major}{minor:02d}{patch:02d}"  # 7.2.0 -> 70200
    build = f"{ROCM['build']}~{release}"
    rocm_version = f"{ROCM['version']}.{numeric}-{build}"
    rocminfo_version = f"1.0.0.{numeric}-{build}"
    driver_version = f"1:6.16.13.{ROCM['amdgpu'].replace('.', '')}000-0~{release}"
    prefix = f"opt/rocm-{ROCM['version']}"

    return {
        f"rocm/apt/{ROCM['dir']}": [
            _pkg("rocm-core", rocm_version,
                 files={f"{prefix}/.info/version": f"{ROCM['version']}-{ROCM['build']}\n",
                        f"{prefix}/lib/.keep": "", f"{prefix}/lib64/.keep": ""},
                 links={"opt/rocm": f"rocm-{ROCM['version']}"}),
            _pkg("rocminfo", rocminfo_version, depends=[f"rocm-core (= {rocm_version})"]),
            _pkg("rocm", rocm_version, depends=[f"rocm-core (= {rocm_version})",
                                                f"rocminfo (= {rocminfo_version})"]),
            _pkg("migraphx", f"2.15.0.{numeric}-{build}", depends=["rocm-core"]),
        ],
        f"graphics/{ROCM['graphics']}/ubuntu": [],
        f"amdgpu/{ROCM['amdgpu']}/ubuntu": [
            _pkg("amdgpu-dkms-firmware", driver_version, arch="all"),
            _pkg("amdgpu-dkms", driver_version, depends=["amdgpu-dkms-firmware"], arch="all",
                 scripts={"postinst": DRIVER_POSTINST}),
        ],
        "distro": [
            _pkg(f"linux-headers-{kernel}", "0.1-0standin"),
            _pkg(f"linux-modules-extra-{kernel}", "0.1-0standin"),
        ],
    }


def distro_rocm_packages(codename: str) -> list[dict]:
    """The distribution's own ROCm packages for one codename (no ``rocm`` meta package)."""
    versions = DISTRO_ROCM[codename]["versions"]
    return [_pkg("rocm-core", versions["rocm-core"]),
            _pkg("rocminfo", versions["rocminfo"])]


def repositories(kernel: str):
    """(repository path, suite, Release Origin/Label, package specs) for everything built."""
    for suite in SUITES:
        for repo_path, specs in packages(kernel, suite).items():
            fields = KERNEL_RELEASE if repo_path == "distro" else AMD_RELEASE
            yield repo_path, suite, fields, specs
    for codename, distro in DISTRO_ROCM.items():
        fields = {"Origin": distro["origin"], "Label": distro["origin"]}
        yield "distro-rocm", codename, fields, distro_rocm_packages(codename)
    tarball = exporter_tarball()
    if tarball:
        for suite in SUITES:
            yield EXPORTER["repo"], suite, AMD_RELEASE, [exporter_package(tarball)]


def build_deb(spec: dict, into: Path) -> Path:
    name, version, arch = spec["Package"], spec["Version"], spec["Architecture"]
    with tempfile.TemporaryDirectory(prefix="aptrepo-") as tmp:
        root = Path(tmp)
        (root / "DEBIAN").mkdir()
        control = [f"Package: {name}", f"Version: {version}", f"Architecture: {arch}",
                   f"Maintainer: {MAINTAINER}", "Section: misc", "Priority: optional"]
        if spec["Depends"]:
            control.append(f"Depends: {spec['Depends']}")
        control.append(f"Description: stand-in for {name} (inferops lab)\n "
                       "No driver or ROCm code is in this package.")
        text = spec["control"] or "\n".join(control) + "\n"
        (root / "DEBIAN" / "control").write_text(text)
        for script, content in spec["scripts"].items():
            (root / "DEBIAN" / script).write_text(content)
            (root / "DEBIAN" / script).chmod(0o755)
        files = {f"usr/share/doc/{name}/STANDIN": NOTE, **spec["files"]}
        for path, content in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(content)
            (root / path).chmod(spec["modes"].get(path, 0o644))
        for path, target in spec["links"].items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).symlink_to(target)
        for path in root.rglob("*"):
            os.utime(path, (EPOCH, EPOCH), follow_symlinks=False)
        pool = into / "pool" / "main" / name[0] / name
        pool.mkdir(parents=True, exist_ok=True)
        deb = pool / f"{name}_{version.split(':')[-1]}_{arch}.deb"
        subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(root), str(deb)],
                       check=True, capture_output=True,
                       env=dict(os.environ, SOURCE_DATE_EPOCH=str(EPOCH)))
    return deb


def stanza(deb: Path, repo: Path) -> str:
    data = deb.read_bytes()
    control = subprocess.run(["dpkg-deb", "-f", str(deb)], check=True, capture_output=True,
                             text=True).stdout.rstrip("\n")
    return (f"{control}\nFilename: {deb.relative_to(repo)}\nSize: {len(data)}\n"
            f"MD5sum: {hashlib.md5(data).hexdigest()}\n"  # noqa: S324 - apt's index format
            f"SHA256: {hashlib.sha256(data).hexdigest()}\n")


def write_suite(repo: Path, suite: str, fields: dict, debs: list[Path], home: Path) -> None:
    dist = repo / "dists" / suite
    index_dir = dist / "main" / "binary-amd64"
    index_dir.mkdir(parents=True, exist_ok=True)
    text = "\n".join(stanza(deb, repo) for deb in debs).encode()
    (index_dir / "Packages").write_bytes(text)
    (index_dir / "Packages.gz").write_bytes(gzip.compress(text, mtime=EPOCH))
    lines = [f"Origin: {fields['Origin']}", f"Label: {fields['Label']}", f"Suite: {suite}",
             f"Codename: {suite}", f"Date: {formatdate(EPOCH, usegmt=True)}",
             "Architectures: amd64", "Components: main",
             "Description: stand-in for inferops.triton's tests (inferops lab)", "SHA256:"]
    for name in ("Packages", "Packages.gz"):
        data = (index_dir / name).read_bytes()
        lines.append(f" {hashlib.sha256(data).hexdigest()} {len(data):>8} main/binary-amd64/{name}")
    release = dist / "Release"
    release.write_text("\n".join(lines) + "\n")
    for target in (dist / "InRelease", dist / "Release.gpg"):
        target.unlink(missing_ok=True)
    gpg(home, "--digest-algo", "SHA512", "--clearsign", "-o", str(dist / "InRelease"), str(release))
    gpg(home, "--digest-algo", "SHA512", "--armor", "--detach-sign", "-o",
        str(dist / "Release.gpg"), str(release))


def recipe(kernel: str) -> str:
    source = Path(__file__).read_bytes()
    tarball = exporter_tarball()
    for part in ([tarball] if tarball else []) + sorted(STANDIN_DIR.iterdir()):
        source += part.read_bytes()
    return hashlib.sha256(source + kernel.encode()).hexdigest()[:16]


def cmd_build(args) -> None:
    out = Path(args.out).resolve()
    meta = out / "standin.json"
    key = recipe(args.kernel_headers)
    home = out / ".gnupg"
    if meta.exists() and json.loads(meta.read_text()).get("recipe") == key:
        log(f"{out} is up to date (recipe {key})")
        return
    if not shutil.which("gpg"):
        labctl.apt_install("gnupg")
    fingerprint = ensure_key(home)
    for part in ("rocm", "graphics", "amdgpu", "distro", "distro-rocm",
                 "device-metrics-exporter"):
        shutil.rmtree(out / part, ignore_errors=True)
    if not exporter_tarball():
        log(f"no {EXPORTER_TARBALL} under {UPSTREAM}: the amdgpu-exporter stand-in is left out")
    built: dict[str, dict[str, list[str]]] = {}
    versions: dict[str, dict[str, dict[str, str]]] = {}
    origins: dict[str, dict[str, str]] = {}
    for repo_path, suite, fields, specs in repositories(args.kernel_headers):
        repo = out / repo_path
        debs = [build_deb(spec, repo) for spec in specs]
        write_suite(repo, suite, fields, debs, home)
        built.setdefault(repo_path, {})[suite] = [deb.name for deb in debs]
        versions.setdefault(repo_path, {})[suite] = {
            spec["Package"]: spec["Version"] for spec in specs}
        origins.setdefault(repo_path, {})[suite] = fields["Origin"]
    armored = gpg(home, "--armor", "--export", fingerprint).stdout
    (out / "rocm" / "rocm.gpg.key").write_bytes(armored)
    meta.write_text(json.dumps({"recipe": key, "key_fingerprint": fingerprint,
                                "origin": AMD_RELEASE["Origin"], "origins": origins,
                                "rocm": ROCM, "suites": list(SUITES),
                                "distro_suites": list(DISTRO_ROCM),
                                "kernel": args.kernel_headers, "packages": built,
                                "exporter": ({**EXPORTER, "units": list(EXPORTER_UNITS)}
                                             if exporter_tarball() else None),
                                "versions": versions},
                               indent=2, sort_keys=True) + "\n")
    log(f"stand-in repository in {out} (key {fingerprint})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    build = sub.add_parser("build")
    build.add_argument("--out", required=True)
    build.add_argument("--kernel-headers", required=True,
                       help="the kernel release the header stand-ins are named for (uname -r)")
    build.set_defaults(func=cmd_build)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
