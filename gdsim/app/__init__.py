"""The gdsim Textual app: pick a scenario, watch gradient descent live, change settings and re-run."""
