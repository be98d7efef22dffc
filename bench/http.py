"""HTTP benchmark: check-ins through a real ``okrgov serve`` beside the raw append of the
same events (``python bench/http.py --help``; the benchmark is ``http_bench.py``).

This file's name shadows the standard library's ``http`` package for every script run
from bench/ (its directory is first on their path), and ``http.client`` is imported by
jwt, httpx and uvicorn. So, imported under the name ``http``, it puts the standard
library's package in its place; run as a script, it runs the benchmark."""

import os
import sys
import sysconfig

if __name__ == "http":
    import importlib.util

    _package = os.path.join(sysconfig.get_path("stdlib"), "http")
    _spec = importlib.util.spec_from_file_location(
        "http", os.path.join(_package, "__init__.py"), submodule_search_locations=[_package]
    )
    assert _spec is not None and _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["http"] = _module  # what the import of this file returns
    _spec.loader.exec_module(_module)
elif __name__ == "__main__":
    from http_bench import main

    sys.exit(main())
