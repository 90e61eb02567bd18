"""Subcommands of the CLI, one module each (see :mod:`backproof.cli`)."""
