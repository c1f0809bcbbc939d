"""Interface plugins (bridge) and meta plugins (tuning, portmap)."""
