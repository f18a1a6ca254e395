#!/usr/bin/env bash
# Prepare this machine (Debian 12) for the hotline: the Debian packages the stack and the tests
# use, then the project's virtualenv in .venv. Safe to run again: it only does what is missing.
# Usually run as `make setup` (which skips it entirely while nothing has changed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PACKAGES=(
    debootstrap     # builds the PBX root filesystem (Debian unstable, Asterisk 22)
    sip-tester      # sipp: real SIP calls in tests and benchmarks
    redis-server
    postgresql      # its own cluster is left stopped; tests start a private one
    sox
    libsox-fmt-all
    espeak-ng       # fallback speech synthesis
    festival        # prompts and test speech, with the Russian voice below
    festvox-ru
    chromium        # the console's browser tests (driven by playwright, no download)
    python3-venv
    python3-dev
    build-essential
    procps
    iproute2
    ca-certificates
)

say() { printf '==> %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

# ---- Debian packages ----------------------------------------------------------------------

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]})); then
    if [[ $EUID -eq 0 ]]; then
        as_root=()
    elif command -v sudo >/dev/null; then
        as_root=(sudo)
    else
        die "these Debian packages are missing and this is not root: ${missing[*]}
       install them as root (apt-get install ${missing[*]}) and run this again"
    fi
    say "installing Debian packages: ${missing[*]}"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
else
    say "Debian packages: all present"
fi

# ---- the virtualenv -----------------------------------------------------------------------

python_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

if [[ ! -x .venv/bin/python ]]; then
    python=""
    # The system python3 first: python3-venv (installed above) belongs to it.
    for candidate in "${PYTHON:-}" python3 python3.13 python3.12 python3.11; do
        if [[ -n "$candidate" ]] && command -v "$candidate" >/dev/null && python_ok "$candidate"; then
            python=$candidate
            break
        fi
    done
    if [[ -z "$python" ]]; then
        found=$(python3 --version 2>&1 || echo "no python3")
        die "Python 3.11 or newer is needed ($found); install it, or set PYTHON=/path/to/python3.11"
    fi
    say "creating .venv with $($python --version 2>&1)"
    "$python" -m venv .venv
elif ! python_ok .venv/bin/python; then
    die ".venv has $(.venv/bin/python --version 2>&1); 3.11 or newer is needed: remove .venv and run this again"
fi

say "installing the project into .venv (pip install -e '.[test]')"
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
say "setup done"
