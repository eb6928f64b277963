# Sourced by dist_train.sh, dist_test.sh and slurm_train.sh: which python runs
# the tools (the shell counterpart of tools/repo_venv.py).
#
#   toolbox_python TOOLS_DIR   prints `python` when it has torch, else the
#                              repository's .venv/bin/python when that exists
#                              (what `make quickstart` creates), else nothing
#                              (the caller then prints how to set one up).

# 0 when the interpreter $1 can import torch (found, not imported: fast).
python_has_torch() {
    "$1" -c 'import importlib.util, sys
sys.exit(importlib.util.find_spec("torch") is None)' > /dev/null 2>&1
}

toolbox_python() {
    local venv="$1/../.venv/bin/python"
    if command -v python > /dev/null 2>&1 && python_has_torch python; then
        echo python
    elif [ -x "$venv" ]; then
        echo "$venv"
    fi
}

NO_TOOLBOX_PYTHON="error: \`python\` lacks torch and there is no .venv in the repository: run \`make venv\` there (or \`make quickstart\`) and \`source .venv/bin/activate\`, or set PYTHON=/path/to/python (see README.md)"
