#!/usr/bin/env bash
# Creates (once) the Python venv holding the peer extractors that `make eval` and
# `make bench-compare` run beside newsriver (trafilatura, resiliparse), and prints its
# python. Pinned versions: figures stay comparable across runs.
set -euo pipefail
venv="${1:?usage: eval-venv.sh VENV_DIR [train]}"
# lxml 6 moved lxml.html.clean (which trafilatura's justext imports) to its own package.
want=(trafilatura==2.0.0 resiliparse==2.0.0 lxml_html_clean)
if [ ! -x "${venv}/bin/python" ]; then
  python3 -m venv "${venv}" >&2
fi
# Installs only when a pinned version is missing (resiliparse has no __version__: ask the
# installed distribution).
if ! "${venv}/bin/python" -c '
import importlib.metadata as m, sys
import lxml.html.clean, trafilatura, resiliparse.extract.html2text
sys.exit(m.version("trafilatura") != "2.0.0" or m.version("resiliparse") != "2.0.0")' 2>/dev/null; then
  echo "installing ${want[*]} into ${venv}" >&2
  "${venv}/bin/pip" install -q "${want[@]}" >&2
fi
# `train`: also what crates/bench/scripts/train_blocks.py needs.
if [ "${2:-}" = train ] && ! "${venv}/bin/python" -c 'import sklearn, numpy, sys; sys.exit(sklearn.__version__ != "1.9.1")' 2>/dev/null; then
  echo "installing scikit-learn==1.9.1 into ${venv}" >&2
  "${venv}/bin/pip" install -q scikit-learn==1.9.1 >&2
fi
echo "${venv}/bin/python"
