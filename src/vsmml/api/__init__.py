"""The HTTP service (`vsmml serve`): thin FastAPI routes over `vsmml.pipeline`; see `app.py`."""
