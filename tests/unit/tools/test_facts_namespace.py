"""The collection reads facts from ``ansible_facts`` only, so it runs the same whether or not
facts are also injected as top-level ``ansible_*`` variables (ansible.cfg turns that off:
ansible-core is deprecating it, and it costs every task on every host). Every ``ansible_*``
name in the roles, playbooks, inventories and scenarios must be one of Ansible's magic,
connection or template variables, not a fact."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
WHERE = ["roles", "playbooks", "molecule", "extensions", "inventory"]
TOP_LEVEL = ["site.yml", "rollout.yml"]

# Not facts: magic variables, connection and become settings, and the template module's
# ansible_managed (all from ansible-core's documentation of special variables).
NOT_FACTS = {
    "ansible_facts", "ansible_check_mode", "ansible_diff_mode", "ansible_failed_result",
    "ansible_failed_task", "ansible_play_hosts", "ansible_play_hosts_all", "ansible_play_batch",
    "ansible_playbook_python", "ansible_managed", "ansible_host", "ansible_port",
    "ansible_user", "ansible_connection", "ansible_python_interpreter", "ansible_become",
    "ansible_become_user", "ansible_become_method", "ansible_ssh_private_key_file",
    "ansible_ssh_common_args", "ansible_ssh_extra_args", "ansible_run_tags",
    "ansible_skip_tags", "ansible_limit", "ansible_loop", "ansible_loop_var",
    "ansible_index_var", "ansible_parent_role_names", "ansible_role_name", "ansible_version",
    "ansible_verbosity", "ansible_config_file", "ansible_inventory_sources",
    "ansible_search_path",
}
NAME = re.compile(r"\bansible_[a-z0-9_]+")


def files():
    for top in TOP_LEVEL:
        yield ROOT / top
    for where in WHERE:
        for suffix in ("*.yml", "*.yaml", "*.j2"):
            yield from (ROOT / where).rglob(suffix)


def test_facts_are_read_from_ansible_facts_only():
    used = {}
    for path in files():
        for name in NAME.findall(path.read_text(encoding="utf-8")):
            used.setdefault(name, path.relative_to(ROOT))
    assert "ansible_facts" in used  # the scan reads the roles
    facts = {name: str(path) for name, path in used.items() if name not in NOT_FACTS}
    assert facts == {}, (
        "read facts as ansible_facts['<name>'] (ansible.cfg has inject_facts_as_vars = False): "
        f"{facts}")


def test_ansible_cfg_does_not_inject_facts():
    text = (ROOT / "ansible.cfg").read_text(encoding="utf-8")
    assert re.search(r"^inject_facts_as_vars\s*=\s*False\s*$", text, re.M)
