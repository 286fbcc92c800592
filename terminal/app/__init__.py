"""The entry point: `main` reads the command line, runs a CLI verb or starts the GUI, whose
window is built around the runtime (`terminal.system.runtime`, the composition root)."""
