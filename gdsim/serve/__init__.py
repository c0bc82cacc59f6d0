"""Workshop mode: serve gdsim to a room over SSH (ssh.py) or the browser (web.py), one process per participant."""
