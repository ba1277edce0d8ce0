# Sourced by deploy/install-router, upgrade-router and uninstall-router (not run
# on its own): find a Python new enough for deploy/porchlight_deploy (standard
# library only, so it runs before the venv exists) and run its COMMAND.
#   run_deploy PROG COMMAND ARGS...
run_deploy() {
    local prog="$1" command="$2" here python="" candidate have
    shift 2
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    # the system's python3 if it is new enough, else a newer python3.X (deadsnakes)
    for candidate in python3 python3.14 python3.13 python3.12 python3.11; do
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            python="$candidate"
            break
        fi
    done
    if [ -z "$python" ]; then
        have="$(python3 --version 2>&1 || echo 'no python3')"
        echo "$prog: Porchlight needs Python 3.11 or newer; this system has $have." >&2
        echo "  Supported: Debian 12/13, Ubuntu 24.04 LTS, Raspberry Pi OS bookworm or newer." >&2
        echo "  Ubuntu 22.04 ships Python 3.10: upgrade to 24.04, or install python3.11 and" >&2
        echo "  python3.11-venv from the deadsnakes PPA (not tested by us) and run this again." >&2
        exit 1
    fi
    export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
    export PYTHONDONTWRITEBYTECODE=1
    exec "$python" -m porchlight_deploy "$command" "$@"
}
