# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tune one model on the host of the task: drives module_utils/tune/_tune_controller.tune
with the host modules triton_model_load (each candidate loaded through the repository API
with its configuration in place of config.pbtxt) and perf_analyzer (each candidate
measured), and returns the evidence. The configuration served before is loaded again at
the end, also when a step fails."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.inferops.triton.plugins.module_utils.tune._candidate_controller import (
    CandidateError,
    default_space,
)
from ansible_collections.inferops.triton.plugins.module_utils.tune._tune_controller import (
    LoadFailed,
    TuneError,
    tune,
)

ARGS = ("model", "space", "flavour", "strategy", "objective", "start", "baseline", "noise",
        "max_passes", "finalists", "budget", "candidates", "url", "headers", "perf",
        "timeout")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGS)

    def _module(self, name, args, task_vars):
        result = self._execute_module(module_name=name, module_args=args,
                                      task_vars=task_vars)
        return result

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = self._task.args
        model = args.get("model")
        if not model or not isinstance(model, str):
            raise AnsibleActionFail(f"model: {model!r} is not a model name")
        space, objective = args.get("space") or {}, args.get("objective") or {}
        flavour = args.get("flavour", "rocm")
        if flavour not in ("rocm", "cpu"):
            raise AnsibleActionFail(f"flavour: {flavour!r} is not one of rocm, cpu")
        server = {"url": args.get("url", "http://127.0.0.1:8000"),
                  "headers": args.get("headers") or {},
                  "timeout": int(args.get("timeout", 300))}
        perf = dict(args.get("perf") or {})
        if self._task.check_mode:
            result.update(changed=False, skipped=True,
                          msg=f"check mode: {model} would be tuned over "
                              f"{space or 'the default space'}")
            return result

        def load(config):
            module_args = dict(server, name=model)
            if config is not None:
                module_args["config"] = config
            answer = self._module("inferops.triton.triton_model_load", module_args, task_vars)
            if answer.get("failed"):
                if config is None:
                    raise AnsibleActionFail(f"{model}: the server did not load it from its "
                                            f"repository: {answer.get('msg')}")
                raise LoadFailed(answer.get("msg"))
            return answer.get("config")

        def measure(label):
            answer = self._module("inferops.triton.perf_analyzer",
                                  dict(perf, model=model, name=f"tune-{model}-{label}"),
                                  task_vars)
            if answer.get("failed"):
                raise AnsibleActionFail(f"{model}: perf_analyzer failed on {label}: "
                                        f"{answer.get('msg')}")
            # a load level that did not stabilise within max_trials stays in the evidence,
            # marked, and scores nothing (it has no latency)
            mode = "request_rate" if perf.get("request_rate_range") else "concurrency"
            return list(answer.get("results") or []) + [
                {mode: level, "stable": False} for level in answer.get("unstable") or []]

        served = load(None)
        space = space or default_space(served, flavour)
        try:
            outcome = tune(served, space, objective, load, measure,
                           start=args.get("start"), baseline=args.get("baseline"),
                           noise=float(args.get("noise", 0.03)),
                           max_passes=int(args.get("max_passes", 3)),
                           strategy=args.get("strategy", "coordinate"),
                           candidates=args.get("candidates") or None,
                           finalists=int(args.get("finalists", 2)),
                           budget=int(args.get("budget") or 0) or None)
        except (TuneError, CandidateError) as exc:
            raise AnsibleActionFail(f"{model}: {exc}") from None
        result.update(changed=True, model=model, served=served,
                      **outcome)
        return result
