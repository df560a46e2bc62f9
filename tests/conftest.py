"""Make ``tests/`` importable so test packages can share the ``support`` helpers."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
