"""Item pipelines, one concern each: clean -> validate -> dedupe (within the run) -> state (across runs)."""
