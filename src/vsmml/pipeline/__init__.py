"""The one seam where I/O meets computation: one function per use case, for the CLI and the API.

Each use case reads what it needs (the store, files, settings, model files), hands frames to the
pure core and returns frames or small dataclasses; it never prints. Submodules are imported by
what they do (`pipeline.ingest`, `pipeline.queries`, `pipeline.scoring`, `pipeline.training`,
`pipeline.demo`, `pipeline.models`), so a command pays only for the imports it needs.
"""
