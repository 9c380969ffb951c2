"""Metrics: DORA, Flow Framework, per-stage, pipeline and operations metrics as tidy frames."""
