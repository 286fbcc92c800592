"""How the terminal is put together: `runtime.build` makes every engine-side object, finished,
for the GUI, the smoke mode, the tests and the benchmarks alike."""
