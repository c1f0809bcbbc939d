"""Kernel-side helpers shared by every plugin: netns, netlink, sysctl, commands, hashing."""
