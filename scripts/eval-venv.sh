#!/usr/bin/env bash
# Creates (once) the Python venv holding the peer extractors that `make eval` runs beside
# newsriver, and prints its python. Pinned versions: figures stay comparable across runs.
set -euo pipefail
venv="${1:?usage: eval-venv.sh VENV_DIR [train]}"
# lxml 6 moved lxml.html.clean (which trafilatura's justext imports) to its own package.
want=(trafilatura==2.0.0 lxml_html_clean)
if [ ! -x "${venv}/bin/python" ]; then
  python3 -m venv "${venv}" >&2
fi
if ! "${venv}/bin/python" -c 'import lxml.html.clean, trafilatura, sys; sys.exit(trafilatura.__version__ != "2.0.0")' 2>/dev/null; then
  echo "installing ${want[*]} into ${venv}" >&2
  "${venv}/bin/pip" install -q "${want[@]}" >&2
fi
# `train`: also what crates/bench/scripts/train_blocks.py needs.
if [ "${2:-}" = train ] && ! "${venv}/bin/python" -c 'import sklearn, numpy, sys; sys.exit(sklearn.__version__ != "1.9.1")' 2>/dev/null; then
  echo "installing scikit-learn==1.9.1 into ${venv}" >&2
  "${venv}/bin/pip" install -q scikit-learn==1.9.1 >&2
fi
echo "${venv}/bin/python"
