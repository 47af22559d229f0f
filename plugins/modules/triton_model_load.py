#!/usr/bin/python
# Copyright (c) inferops.triton contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: triton_model_load
short_description: Load a model into a running Triton server, optionally with another configuration
version_added: 0.1.0
description:
  - Loads (or reloads) one model through Triton's model repository API
    (C(POST /v2/repository/models/<model>/load)) on a server started with
    C(--model-control-mode=explicit), from the host the module runs on, and returns the
    configuration the server then serves (C(GET /v2/models/<model>/config)).
  - With O(config), the server serves that configuration instead of the model's
    C(config.pbtxt), which is left as it is. Without it, the model is loaded from the
    repository - but Triton keeps a model whose files did not change loaded as it is, a
    trial configuration included (seen on the lab's tritonserver); to put a model back
    after a trial, load it with the configuration it served before.
  - With O(state=unloaded), unloads the model instead.
  - A load or unload is an action on the running server, so it always reports a change;
    in check mode it does nothing and says what it would do. A load the server refuses
    fails with the server's error.
  - Uses the Python standard library only and connects directly (proxy environment
    variables are not used).
author: inferops.triton developers (@inferops)
options:
  name:
    description: The model's name in the repository.
    type: str
    required: true
  config:
    description:
      - A complete model configuration in Triton's JSON form (as C(GET
        /v2/models/<model>/config) returns it) to serve instead of the model's
        C(config.pbtxt).
      - Unset, the repository's configuration is loaded.
    type: dict
  state:
    description: Whether the model is to be loaded or unloaded.
    type: str
    choices: [loaded, unloaded]
    default: loaded
  timeout:
    description: Seconds the load may take (the server answers once the model is loaded).
    type: int
    default: 300
extends_documentation_fragment:
  - inferops.triton.triton_api
notes:
  - The server's model control mode must be C(explicit); in the other modes the server
    refuses the repository API and the module fails with its error.
seealso:
  - module: inferops.triton.triton_server_info
"""

EXAMPLES = r"""
- name: Serve resnet50 with two instances for a trial, without touching config.pbtxt
  inferops.triton.triton_model_load:
    name: resnet50
    config: "{{ served_config | combine({'instance_group': [{'count': 2, 'kind': 'KIND_CPU'}]}) }}"

- name: Put back the configuration it served before the trial
  inferops.triton.triton_model_load:
    name: resnet50
    config: "{{ served_config }}"
"""

RETURN = r"""
config:
  description:
    - The configuration the server serves after the load.
    - Absent after an unload or in check mode.
  returned: success
  type: dict
action:
  description:
    - What was done - C(loaded with the given config), C(loaded from the repository) or
      C(unloaded).
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.inferops.triton.plugins.module_utils.server._client import (
    API_ARGS,
    RequestFailed,
    TritonClient,
    Unreachable,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            config=dict(type="dict"),
            state=dict(type="str", choices=["loaded", "unloaded"], default="loaded"),
            timeout=dict(type="int", default=300),
            **API_ARGS,
        ),
        supports_check_mode=True,
    )
    params = module.params
    if not params["url"].startswith(("http://", "https://")):
        module.fail_json(msg=f"url must be an http:// or https:// URL, got {params['url']!r}")
    if params["state"] == "unloaded" and params["config"] is not None:
        module.fail_json(msg="config is for state=loaded; an unload takes none")
    if params["timeout"] < 1:
        module.fail_json(msg=f"timeout must be 1 or more seconds, got {params['timeout']}")
    if params["state"] == "unloaded":
        action = "unloaded"
    elif params["config"] is None:
        action = "loaded from the repository"
    else:
        action = "loaded with the given config"
    if module.check_mode:
        module.exit_json(changed=True, action=action,
                         msg=f"check mode: {params['name']} would be {action}")
    client = TritonClient(params["url"], "",
                          {str(k): str(v) for k, v in params["headers"].items()},
                          params["timeout"])
    try:
        if params["state"] == "unloaded":
            client.unload(params["name"])
            module.exit_json(changed=True, action=action)
        client.load(params["name"], params["config"])
        served = client.config(params["name"])
    except (RequestFailed, Unreachable) as exc:
        module.fail_json(msg=f"{params['name']}: {exc}", action=action)
    module.exit_json(changed=True, action=action, config=served)


if __name__ == "__main__":
    main()
