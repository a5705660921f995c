"""The ``clinic-billing`` command: the desktop app with no subcommand, headless services otherwise."""
