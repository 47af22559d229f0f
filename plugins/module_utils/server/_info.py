# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Everything ``triton_server_info`` returns, from one pass over a running server: waiting
until it has settled, its health, metadata and repository index (the models of interest,
those without a READY version and why), the served configs, the zero inferences
(``server/_smoke.py``) and the metrics (``server/_metrics.py``).

Travels to hosts; standard library only. The requests go through a ``server/_client.py``
client; ``clock`` and ``sleep`` are injectable for tests.
"""

from __future__ import annotations

import time

from ansible_collections.inferops.triton.plugins.module_utils.server._client import (
    RequestFailed,
    Unreachable,
)
from ansible_collections.inferops.triton.plugins.module_utils.server._metrics import (
    MetricsError,
    model_metrics,
    parse_prometheus,
)
from ansible_collections.inferops.triton.plugins.module_utils.server._smoke import smoke_one

READY = "READY"
UNAVAILABLE = "UNAVAILABLE"
TERMINAL_STATES = (READY, UNAVAILABLE)
POLL_INTERVAL = 1.0


def normalise_index(entries):
    """Each index entry as ``{name, version, state, reason}``; absent fields are None
    (a model the server never loaded has only its name)."""
    return [{"name": entry.get("name"), "version": entry.get("version"),
             "state": entry.get("state") or None, "reason": entry.get("reason") or None}
            for entry in entries or []]


def models_of_interest(index, models):
    """The models asked for, or every model the index names, in index order."""
    if models:
        return list(dict.fromkeys(models))
    return list(dict.fromkeys(entry["name"] for entry in index))


def ready_models(index):
    return {entry["name"] for entry in index if entry["state"] == READY}


def unavailable(index, names, why_missing="not in the server's repository index"):
    """The models of ``names`` with no READY version: each of their index entries, or one
    entry with ``state`` None when the index does not name the model."""
    ready = ready_models(index)
    result = []
    for name in names:
        if name in ready:
            continue
        entries = [entry for entry in index if entry["name"] == name]
        if entries:
            result.extend(dict(entry) for entry in entries)
        else:
            result.append({"name": name, "version": None, "state": None,
                           "reason": why_missing})
    return result


def settled(index, names):
    """True when every model of ``names`` is in the index and none of its entries is on
    the way somewhere (LOADING, UNLOADING): READY, UNAVAILABLE, or never loaded."""
    for name in names:
        entries = [entry for entry in index if entry["name"] == name]
        if not entries:
            return False
        if any(entry["state"] not in TERMINAL_STATES + (None,) for entry in entries):
            return False
    return True


def failed_to_load(index):
    """Whether a model failed to load: with ``--strict-readiness`` (the default) the
    server then stays not ready, which waiting does not change."""
    return any(entry["state"] == UNAVAILABLE and entry["reason"] not in (None, "unloaded")
               for entry in index)


def wait_until_settled(client, models, wait, clock=time.monotonic, sleep=time.sleep,
                       interval=POLL_INTERVAL):
    """Poll until the server is live, every model of interest has settled and the server
    is ready (or stays not ready only because a model failed to load), at most ``wait``
    seconds. Errors here are expected (a server restarting refuses connections) and are
    not reported; a 403 (a restricted API without its header) ends the wait, as waiting
    does not change it. Returns whether it settled."""
    deadline = clock() + wait
    while True:
        remaining = deadline - clock()
        timeout = max(0.1, min(client.timeout, remaining))
        try:
            if client.health("live", timeout):
                index = normalise_index(client.index(timeout))
                names = models_of_interest(index, models)
                if settled(index, names) and (client.health("ready", timeout)
                                              or failed_to_load(index)):
                    return True
        except Unreachable:
            pass
        except RequestFailed as exc:
            if exc.status == 403:
                return False
        remaining = deadline - clock()
        if remaining <= 0:
            return False
        sleep(min(interval, remaining))


def server_info(client, models=(), smoke=False, wait=0, clock=time.monotonic,
                sleep=time.sleep, configs=True):
    """Everything the module returns, from one pass over the server (after waiting up
    to ``wait`` seconds for it to settle). ``configs=False`` reads the served configs
    only for the zero inferences (``smoke``), as a gate that shows none of them does."""
    models = list(models or [])
    start = clock()
    if wait > 0:
        wait_until_settled(client, models, wait, clock, sleep)
    result = {"live": False, "ready": False, "server": None, "models": [],
              "unavailable": [], "configs": {}, "metrics": {}, "smoke": {},
              "waited": round(clock() - start, 3) if wait > 0 else 0.0, "errors": []}
    errors = result["errors"]

    try:
        result["live"] = client.health("live")
    except Unreachable as exc:
        errors.append(f"{exc} (is the server running, and on this address?)")
        result["unavailable"] = unavailable([], models, why_missing=f"the server did not "
                                            f"answer ({exc})")
        _smoke_skipped(result, smoke, models)
        _metrics(client, result, models)
        return result
    except RequestFailed as exc:  # it answers, but not this (a restricted API)
        errors.append(str(exc))

    for key, call in (("ready", lambda: client.health("ready")),
                      ("server", client.metadata),
                      ("models", lambda: normalise_index(client.index()))):
        try:
            result[key] = call()
        except (Unreachable, RequestFailed) as exc:
            errors.append(str(exc))

    index = result["models"]
    names = models_of_interest(index, models)
    result["unavailable"] = unavailable(index, names)
    ready = ready_models(index)
    for name in names if configs or smoke else ():
        if name not in ready:
            continue
        try:
            result["configs"][name] = client.config(name)
        except (Unreachable, RequestFailed) as exc:
            errors.append(str(exc))

    if smoke:
        for name in names:
            config = result["configs"].get(name)
            if name not in ready:
                result["smoke"][name] = {"ok": False, "outputs": {},
                                         "msg": f"not run: {_why_not_ready(index, name)}"}
            elif config is None:
                result["smoke"][name] = {"ok": False, "outputs": {},
                                         "msg": "not run: its config could not be read"}
            else:
                result["smoke"][name], error = smoke_one(client, name, config)
                if error:
                    errors.append(error)

    _metrics(client, result, models)
    return result


def _why_not_ready(index, name):
    entries = [e for e in index if e["name"] == name]
    if not entries:
        return "the model is not in the server's repository index"
    return "; ".join(f"version {e['version'] or '-'} is {e['state'] or 'not loaded'}"
                     + (f": {e['reason']}" if e["reason"] else "") for e in entries)


def _smoke_skipped(result, smoke, models):
    if smoke:
        for name in models:
            result["smoke"][name] = {"ok": False, "outputs": {},
                                     "msg": "not run: the server did not answer"}


def _metrics(client, result, models):
    if not client.metrics_url:
        return
    try:
        result["metrics"] = model_metrics(parse_prometheus(client.metrics()), models)
    except (Unreachable, RequestFailed, MetricsError) as exc:
        result["errors"].append(str(exc))
