#!/bin/sh
# Print the path of a working Python X.Y interpreter, or fail with one line on stderr.
# Usage: scripts/find_python.sh 3.12
# Looks at pythonX.Y on PATH (a pyenv shim that is not active fails its check and is skipped),
# then at pyenv's versions ($PYENV_ROOT or ~/.pyenv), then the usual system places.
set -eu
want="$1"
root="${PYENV_ROOT:-$HOME/.pyenv}"
for candidate in "python$want" $(ls -d "$root"/versions/"$want".*/bin/"python$want" 2>/dev/null | sort -r) \
        "/usr/local/bin/python$want" "/usr/bin/python$want"; do
    if "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$want'.split('.'))))" \
            >/dev/null 2>&1; then
        command -v "$candidate"
        exit 0
    fi
done
echo "find_python: no working python$want (looked on PATH, in $root/versions, /usr/local/bin, /usr/bin)" >&2
exit 1
