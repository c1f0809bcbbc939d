"""CNI types: versions, errors, CNI_ARGS, configs and results.

Submodules are imported on demand; `version`, `errors` and `args` need no pydantic,
so VERSION and early errors stay cheap.
"""
