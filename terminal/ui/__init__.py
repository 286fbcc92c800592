"""Qt layer: the main window, docks, table models and the GUI end of the event bridge."""
