# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A tuning's result kept as data: the tuned file of one model on one GPU target, which
configurations ``site.yml`` takes from those files, and the canary rule.

The tuned file is ``<tuned dir>/<model>/<target>.yml`` (target: the GPUs' gfx name from
``rocm_facts``, or ``cpu`` for the CPU flavour). It holds the winner's values, the target and
the image (reference and id) it was tuned on, the objective, and the evidence: the guide's
baseline and every candidate measured, with the host, the ROCm and perf_analyzer versions.

A host takes a tuned file's values for a ``triton_models`` entry when the file's model,
target and image id are the host's; otherwise the entry stays as the inventory has it and
the run says why.

Controller-side: runs where the play is driven, never on a host.
"""

from __future__ import annotations

import os

from ansible.module_utils.common.yaml import yaml_load

try:
    import yaml
except ImportError:  # PyYAML comes with ansible-core, where this runs (the controller)
    yaml = None

from ansible_collections.inferops.triton.plugins.module_utils.tune._candidate_controller import (
    CandidateError,
    entry_for,
)
from ansible_collections.inferops.triton.plugins.module_utils.tune._search_controller import (
    TuneError,
)

FORMAT = 1  # the tuned file's shape; a file of another format is refused, not guessed at
HEADER = ("# Written by inferops.triton's tune.yml. site.yml gives this model the values below\n"
          "# on hosts whose GPU target and server image id are the ones below.\n")


def record_text(record: dict) -> str:
    """The tuned file's text: the header, then the record as block YAML with each list
    indented under its key (the style yamllint's default rules ask of an inventory)."""

    class Dumper(yaml.SafeDumper):
        def increase_indent(self, flow=False, indentless=False):
            return super().increase_indent(flow, False)

    return HEADER + "---\n" + yaml.dump(record, Dumper=Dumper, sort_keys=False,
                                        default_flow_style=False)


def target_of(flavour: str, rocm: dict | None) -> str:
    """The tuning target of a host: ``cpu`` for the CPU flavour, else its GPUs' gfx name
    (several kinds of GPU joined with ``+``)."""
    if flavour == "cpu":
        return "cpu"
    targets = sorted(set((rocm or {}).get("gfx_targets") or []))
    if not targets:
        raise TuneError("the host reports no GPU target (rocm_facts found no gfx agent), so "
                        "there is nothing to tune the rocm flavour for")
    return "+".join(targets)


def record_path(root: str, model: str, target: str) -> str:
    return os.path.join(root, model, f"{target}.yml")


def _values_of(entry):
    return None if not entry else entry["candidate"]


def make_record(model: str, target: str, image: dict, outcome: dict, host: str,
                versions: dict, started: str, ended: str) -> dict:
    """The tuned file's content from one ``triton_tune`` result; ``values`` is None when no
    candidate met the objective (such a file is kept as evidence and applies nowhere)."""
    baseline = outcome.get("baseline")
    return {
        "format": FORMAT,
        "model": model,
        "target": target,
        "image": {"ref": image.get("ref"), "id": image.get("id")},
        "values": _values_of(outcome.get("winner")),
        "objective": outcome["objective"],
        "score": (outcome.get("winner") or {}).get("score"),
        "baseline": None if not baseline else {
            "values": baseline["candidate"], "score": baseline["score"],
            "error": baseline["error"], "points": baseline["points"]},
        "tuned": {"host": host, "started": started, "ended": ended,
                  "rocm_version": versions.get("rocm"),
                  "perf_analyzer_version": versions.get("perf_analyzer"),
                  "strategy": outcome.get("strategy", "coordinate"),
                  "space": outcome["space"], "start": outcome["start"],
                  "measurements": outcome["measurements"], "grid": outcome["grid"],
                  "passes": outcome["passes"], "budget": outcome.get("budget"),
                  "blocks": outcome.get("blocks"),
                  "noise": outcome.get("noise"), "finalists": outcome.get("finalists")},
        "candidates": [{"values": c["candidate"], "served": c["served"], "score": c["score"],
                        "error": c["error"], "points": c["points"]}
                       for c in outcome["candidates"]],
    }


def check_record(record, where: str) -> None:
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        found = record.get("format") if isinstance(record, dict) else type(record).__name__
        raise TuneError(f"{where}: not a tuned file of format {FORMAT} (found {found!r})")
    for key in ("model", "target"):
        if not isinstance(record.get(key), str) or not record[key]:
            raise TuneError(f"{where}: {key} {record.get(key)!r} is not a name")
    if not isinstance(record.get("image"), dict) or not record["image"].get("id"):
        raise TuneError(f"{where}: image {record.get('image')!r} has no id")
    if record.get("values") is not None and not isinstance(record["values"], dict):
        raise TuneError(f"{where}: values {record['values']!r} is not a mapping")


def load_records(root: str) -> list:
    """Every tuned file under ``root`` (``<model>/<target>.yml``), checked, each with its
    ``file``; none when ``root`` does not exist."""
    records = []
    if not root or not os.path.isdir(root):
        return records
    for model in sorted(os.listdir(root)):
        folder = os.path.join(root, model)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".yml"):
                continue
            path = os.path.join(folder, name)
            try:
                with open(path, encoding="utf-8") as handle:
                    record = yaml_load(handle)
            except Exception as exc:  # an unreadable file, or PyYAML's error
                raise TuneError(f"{path}: not a readable tuned file: {exc}") from None
            check_record(record, path)
            if (record["model"], record["target"]) != (model, name[:-len(".yml")]):
                raise TuneError(f"{path}: holds model {record['model']} on target "
                                f"{record['target']}, which belongs in "
                                f"{record_path(root, record['model'], record['target'])}")
            records.append(dict(record, file=path))
    return records


def tuned_models(models: list, records: list, flavour: str, rocm: dict | None,
                 image_id: str | None) -> dict:
    """``models`` (triton_models) with each tuned file's values put in where its model,
    target and image id are this host's. Returns ``models``, ``applied`` (model, file,
    values) and ``fallback`` (model, reason) for the entries whose model has tuned files
    none of which applies here; entries without a tuned file are not mentioned. The host's
    target is worked out only when a tuned file names one of its models."""
    out, applied, fallback = [], [], []
    target = None
    for entry in models:
        name = entry.get("name")
        mine = [r for r in records if r["model"] == name]
        if mine and target is None:
            try:
                target = target_of(flavour, rocm)
            except TuneError as exc:
                target = f"unknown ({exc})"
        match = [r for r in mine if r["target"] == target and r["image"]["id"] == image_id
                 and r.get("values")]
        if match:
            record = match[0]
            try:
                out.append(entry_for(entry, record["values"]))
            except CandidateError as exc:
                raise TuneError(f"{record.get('file', name)}: {exc}") from None
            applied.append({"model": name, "file": record.get("file"),
                            "values": record["values"]})
            continue
        out.append(entry)
        if mine:
            fallback.append({"model": name, "reason": _why_not(mine, target, image_id)})
    return {"models": out, "applied": applied, "fallback": fallback}


def _why_not(records, target, image_id) -> str:
    same_target = [r for r in records if r["target"] == target]
    if not same_target:
        tuned = ", ".join(sorted(r["target"] for r in records))
        return f"tuned for target {tuned}, this host's is {target}"
    record = same_target[0]
    if record["image"]["id"] != image_id:
        return (f"{record.get('file', record['model'])} was tuned on image "
                f"{record['image']['id']}, this host's server image is {image_id or 'unknown'}")
    return f"{record.get('file', record['model'])} found no configuration meeting its objective"


def messages(tuning: dict) -> list:
    """What the run says about tuned files, one line per model."""
    lines = [f"{a['model']}: the tuned configuration {a['file']} applies "
             f"({', '.join(f'{k}={v}' for k, v in sorted(a['values'].items()))})"
             for a in tuning["applied"]]
    lines += [f"{f['model']}: the inventory's configuration is used; {f['reason']}"
              for f in tuning["fallback"]]
    return lines


def pareto(points: list, percentile: int = 99) -> list:
    """The points no other point beats on both throughput (higher) and latency at the
    percentile (lower), by latency."""
    key = f"p{percentile}_latency_us"
    usable = [p for p in points if p.get(key) is not None
              and p.get("throughput_infer_per_sec") is not None]
    front, best = [], None
    for point in sorted(usable, key=lambda p: (p[key], -p["throughput_infer_per_sec"])):
        if best is None or point["throughput_infer_per_sec"] > best:
            front.append(point)
            best = point["throughput_infer_per_sec"]
    return front


def canary_refusal(canaries: list, fleet: list, variable: str = "tune_hosts") -> str | None:
    """Why these hosts may not be tuned at once, or None: tuning takes a host's capacity
    for minutes, so a fleet of several hosts is never tuned whole."""
    if not canaries:
        return f"{variable} matches no host of the inventory"
    if len(fleet) > 1 and set(fleet) <= set(canaries):
        return (f"{variable} matches every host of the fleet ({len(fleet)}); tuning takes a "
                f"host's capacity for minutes, so name a canary (a host or a group smaller "
                f"than the fleet)")
    return None
