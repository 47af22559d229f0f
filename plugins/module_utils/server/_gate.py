# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The readiness gate of a Triton server, asked over HTTP from its host, and its verdict:
:func:`gate` asks what ``triton_server_info`` asks (``server/_info.py``), and
:func:`gate_failures` is the one rule of whether a server passed - the lines that
``triton_service`` and ``triton_server_info`` return in ``gate_failures``.

Travels to hosts; standard library only.
"""

from __future__ import annotations

from ansible_collections.inferops.triton.plugins.module_utils.server._client import TritonClient
from ansible_collections.inferops.triton.plugins.module_utils.server._info import server_info
from ansible_collections.inferops.triton.plugins.module_utils.server._unit import (
    api_headers,
    local_url,
)


def gate_settings(settings: dict, changed: bool) -> dict:
    """The settings :func:`gate` runs with after a call that ``changed`` something or not:
    the zero inference (``gate_smoke``) only after a change, unless ``gate_smoke_unchanged``
    asks for it on an unchanged server too."""
    smoke = settings["gate_smoke"] and (changed or settings["gate_smoke_unchanged"])
    return dict(settings, gate_smoke=bool(smoke))


def gate(settings: dict, instance: dict, transport=None) -> dict:
    """The readiness gate of one server, asked from its host: ``triton_server_info``'s
    answer (``wait``, ``smoke`` from ``gate_wait``, ``gate_smoke``) for the models of
    ``settings['models']``, with the instance's ``unit`` and the ``url`` asked."""
    url = local_url(settings["bind_address"], instance["ports"]["http"])
    headers = api_headers(settings.get("restricted_apis"), settings.get("restricted_key"),
                          settings.get("restricted_value"))
    client = TritonClient(url, "", headers, 10, transport)
    names = [m["name"] for m in settings.get("models") or [] if isinstance(m, dict)]
    info = server_info(client, names, settings["gate_smoke"], settings["gate_wait"],
                       configs=False)
    return {"unit": instance["unit"], "url": url, **info}


def gate_failures(entry: dict) -> list:
    """What kept one server from passing its gate (an entry of :func:`gate`): not ready,
    a model not READY (with Triton's reason), a zero inference that failed."""
    unit, out = entry["unit"], []
    if not entry.get("ready"):
        last = f" ({entry['errors'][-1]})" if entry.get("errors") else ""
        out.append(f"{unit} not ready after {int(entry.get('waited') or 0)} s{last}")
    down = []
    for model in entry.get("unavailable") or []:
        down.append(model["name"])
        out.append(f"{unit}: model {model['name']} is {model.get('state') or 'not loaded'}: "
                   f"{model.get('reason') or 'no reason given'}")
    for name, smoke in (entry.get("smoke") or {}).items():
        if not smoke.get("ok") and name not in down:
            out.append(f"{unit}: zero inference on {name} failed: {smoke.get('msg')}")
    return out
