"""The dockable windows of the main window."""
