"""A CNI conformance suite runnable against any directory of plugin executables.

The catalogue (conformance.catalogue) describes one behaviour per scenario, as data; the
engine runs each scenario per applicable cniVersion inside private network namespaces,
executing the plugins only as black boxes (CNI_* environment, config on stdin), and checks
their output, kernel state and files on disk. See conformance/README.md.
"""
