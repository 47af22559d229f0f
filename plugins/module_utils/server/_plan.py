# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What this run's changes mean for the running servers (:func:`change_plan`), and what the
repository API refused (:func:`refusals`): the triton_server role's decisions, which its
YAML reads through the filters ``triton_server_plan`` and ``triton_api_refusals``.

Pure functions of their inputs; standard library only.
"""

from __future__ import annotations


def change_plan(image_changed: bool, repository_changed: bool, control_mode: str,
                changed_models: list, removed_models: list) -> dict:
    """How the servers take this run's changes.

    - ``restart``: a new image restarts through the unit (its id is written there); a
      changed repository restarts only in ``none`` model control (``explicit`` loads it
      live, ``poll`` leaves it to the server);
    - ``serves_changed``: what the servers serve changed, with or without their unit (a
      repository Triton polls): the gate then sends its zero inferences;
    - ``loads`` and ``unloads``: what the repository API loads and unloads in explicit model
      control (a model both changed and removed is only unloaded);
    - ``gate_in_service``: ``triton_service`` gates in its own call, except in explicit
      model control with models to load or unload, where the gate is a separate
      ``triton_server_info`` call after the repository API.
    """
    unloads = list(removed_models or [])
    loads = [name for name in changed_models or [] if name not in unloads]
    explicit = control_mode == "explicit"
    return {
        "restart": bool(image_changed or (repository_changed and control_mode == "none")),
        "serves_changed": bool(image_changed or repository_changed),
        "loads": loads,
        "unloads": unloads,
        "gate_in_service": not (explicit and (loads or unloads)),
    }


def refusals(results: list, instances: int) -> list:
    """The repository API calls the server refused (anything but HTTP 200), from the
    registered results of the load and unload loops over ``(instance, model)``: each as
    ``<model>[ on <unit>]: <Triton's error>`` (the unit only when the host runs several
    servers). Skipped calls (check mode) refused nothing."""
    lines = []
    for result in results or []:
        if "skipped" in result or result.get("status") == 200:
            continue
        instance, model = result["item"]
        where = f" on {instance['unit']}" if instances > 1 else ""
        body = result.get("json")
        if isinstance(body, dict) and "error" in body:
            error = body["error"]
        else:
            error = result.get("msg", f"HTTP {result.get('status')}")
        lines.append(f"{model}{where}: {error}")
    return lines
