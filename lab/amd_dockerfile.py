"""AMD's final server Dockerfile, as AMD's build.py generates it, made buildable in the lab.

build.py (ROCm/triton-inference-server-server, rocm7.2_r25.12) writes ``build/Dockerfile``:
the production stage of the ROCm image - its ENV, LABELs, AMD's entrypoint files
(``docker/cpu_only/`` and ``docker/entrypoint.d/`` under ``/opt/rocm``) and
``ENTRYPOINT ["/opt/rocm/rocm_entrypoint.sh"]`` on ``${BASE_IMAGE}`` - plus the steps that
need what the lab does not have: the network (apt and pip inside the build) and the
compiled server (``build/install``, hours of compiling). ``standin(text)`` keeps every
instruction of the first kind as AMD wrote it and drops exactly the second kind
(``DROPPED``, each with its reason); an instruction it does not know fails, so a change
upstream is seen, not silently built around. The base it builds on
(``inferops-lab/rocm-base:7.2``, lab/rocm_standin.py) holds the real CPU ``tritonserver``
in place of the compiled one.

Run as a program, it is what the lab's copy of build.py executes instead of the generated
``docker_build`` script (``python3 amd_dockerfile.py ./docker_build`` in ``build/``): the
buildbase image and the compile in it are skipped (they need the network and hours), and the
final image is built from the stand-in Dockerfile and tagged as docker_build would tag it.
As the real script would, it fails without a terminal when docker_build runs ``docker run
-it`` ("the input device is not a TTY").

Standard library only: it also runs on a builder, inside the lab's repository.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

# instruction (its first words) -> why the lab drops it
DROPPED = {
    "RUN apt-get update": "apt packages of the build, from the network",
    "RUN rm -fr /opt/tritonserver/*": "would empty the stand-in base's server",
    "COPY --chown=1000:1000 build/install tritonserver": "the compiled server (the base's "
                                                         "CPU tritonserver stands in)",
    "RUN find /opt/tritonserver/python": "installs the compiled server's Python wheels",
    "RUN pip3 install": "Python packages, from the network",
}
KEPT = ("ARG ", "FROM ", "ENV ", "LABEL ", "WORKDIR ", "ENTRYPOINT ", "COPY docker/",
        "COPY --chown=1000:1000 NVIDIA_Deep_Learning_Container_License.pdf",
        "RUN chmod +x /opt/rocm/rocm_entrypoint.sh")


class StandinError(RuntimeError):
    pass


def instructions(text: str) -> list[str]:
    """The Dockerfile's instructions, continuation lines joined; comments and blanks dropped."""
    out, current = [], ""
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip("\\").rstrip() + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            out.append(current.strip())
            current = ""
    if current:
        out.append(current.strip())
    return out


def standin(text: str) -> tuple[str, list[str]]:
    """(the Dockerfile the lab builds, the instructions it dropped with their reasons)."""
    kept, dropped = [], []
    for step in instructions(text):
        reason = next((why for start, why in DROPPED.items() if step.startswith(start)), None)
        if reason:
            dropped.append(f"{step[:70]}... ({reason})")
        elif step.startswith(KEPT):
            kept.append(step)
        else:
            raise StandinError(f"AMD's Dockerfile has an instruction the lab does not know: "
                               f"{step[:120]!r}; decide whether the stand-in keeps it")
    if not any(s.startswith("ENTRYPOINT ") for s in kept):
        raise StandinError("AMD's Dockerfile has no ENTRYPOINT")
    return "\n".join(kept) + "\n", dropped


def final_build(script: str) -> tuple[str, str, str]:
    """(directory, tag, Dockerfile) of docker_build's final image: the ``docker build -t
    tritonserver`` after its ``cd``."""
    cwd = None
    for line in script.splitlines():
        if line.startswith("cd "):
            cwd = line[3:].strip()
        match = re.match(r"^docker build -t (tritonserver) -f (\S+) \.", line)
        if match:
            return cwd, match.group(1), match.group(2)
    raise StandinError("docker_build builds no tritonserver image")


def main(argv: list[str]) -> int:
    script = open(argv[1], encoding="utf-8").read()
    if re.search(r"^docker run .* -it ", script, re.M) and not sys.stdin.isatty():
        print("the input device is not a TTY (docker_build runs its build container with "
              "docker run -it)", file=sys.stderr)
        return 1
    directory, tag, dockerfile = final_build(script)
    text, dropped = standin(open(dockerfile, encoding="utf-8").read())
    for line in dropped:
        print(f"inferops lab: dropped {line}", flush=True)
    print("inferops lab: skipped the buildbase image and the compile in it (the network, "
          "hours); building the final image", flush=True)
    lab_file = dockerfile + ".lab"
    with open(lab_file, "w", encoding="utf-8") as handle:
        handle.write(text)
    return subprocess.call(["docker", "build", "-t", tag, "-f", lab_file, "."],
                           cwd=directory or os.getcwd())


if __name__ == "__main__":
    sys.exit(main(sys.argv))
