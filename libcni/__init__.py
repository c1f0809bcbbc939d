"""The runtime side of CNI and the CNI types shared by every plugin."""
