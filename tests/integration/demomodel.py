"""The demo's model entry (inventory/demo's triton_models), for the tests that vary it;
plain data, importable without the lab."""

import json

REPOSITORY = "/var/lib/inferops-triton/models"
MODEL_URL = "{{ _demo_model_url }}/resnet50-v2.onnx"  # the demo's loopback model server
GOOD = {
    "name": "resnet50",
    "config": {
        "max_batch_size": 8,
        "input": [{"name": "data", "data_type": "TYPE_FP32", "dims": [3, 224, 224]}],
        "output": [{"name": "resnetv24_dense0_fwd", "data_type": "TYPE_FP32", "dims": [1000]}],
        "dynamic_batching": {"max_queue_delay_microseconds": 2000},
        "instance_group": [{"kind": "KIND_GPU", "count": 1, "gpus": [0]}],
    },
    "accelerator": {"name": "migraphx", "parameters": {"migraphx_max_dynamic_batch": 8}},
    "versions": [{"version": 1, "url": MODEL_URL, "checksum": f"sha256:{MODEL_URL}.sha256"}],
}


def entry(**change):
    """The demo's resnet50 entry with ``change`` laid over it (``config`` merged)."""
    model = json.loads(json.dumps(GOOD))
    model["config"].update(change.pop("config", {}))
    model.update(change)
    return model
