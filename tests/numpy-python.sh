#!/usr/bin/env bash
# Prints a Python interpreter that imports numpy (python3 on the PATH, else Debian's
# /usr/bin/python3, which python3-numpy serves); exits 1 when there is none.
for p in python3 /usr/bin/python3; do
    "$p" -c "import numpy" 2>/dev/null && { echo "$p"; exit 0; }
done
exit 1
