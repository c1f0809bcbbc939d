"""The process entry: which program an executable is, the source shims, the opt-in warm server.

Nothing here talks to the kernel (that is pkg/); nothing in libcni, pkg, plugins or ipam imports
this package except the in-process IPAM delegation, which asks whether a delegate is one of ours.
"""
