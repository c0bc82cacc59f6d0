"""The sub-commands of the `gdsim` command line, one module each."""
