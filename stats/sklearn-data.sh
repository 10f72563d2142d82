#!/usr/bin/env bash
# Prints the folder of scikit-learn's bundled datasets (Debian's python3-sklearn ships
# diabetes_data_raw.csv.gz, diabetes_target.csv.gz and breast_cancer.csv): the installed
# package's, or else the package's files unpacked into ~/.cache/fsskit-sklearn (apt-get
# download: the .deb alone, none of its dependencies).
#   stats/sklearn-data.sh
set -euo pipefail
rel=usr/lib/python3/dist-packages/sklearn/datasets/data
for d in "/$rel" "${FSS_SKLEARN_CACHE:-$HOME/.cache/fsskit-sklearn}/$rel"; do
    if [ -f "$d/breast_cancer.csv" ] && [ -f "$d/diabetes_data_raw.csv.gz" ]; then
        echo "$d"
        exit 0
    fi
done
cache=${FSS_SKLEARN_CACHE:-$HOME/.cache/fsskit-sklearn}
mkdir -p "$cache"
cd "$cache"
if ! apt-get download python3-sklearn >/dev/null 2>&1; then
    # a fresh machine may have no package lists yet
    apt-get update -q >/dev/null 2>&1 || true
    apt-get download python3-sklearn >/dev/null 2>&1 ||
        { echo "sklearn-data.sh: cannot download Debian's python3-sklearn (apt-get download)" >&2; exit 1; }
fi
deb=$(ls -t python3-sklearn_*.deb | head -1)
dpkg-deb -x "$deb" "$cache"
rm -f "$deb"
[ -f "$cache/$rel/breast_cancer.csv" ] || { echo "sklearn-data.sh: $deb has no $rel/breast_cancer.csv" >&2; exit 1; }
echo "$cache/$rel"
