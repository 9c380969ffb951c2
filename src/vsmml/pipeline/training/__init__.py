"""Training jobs behind `vsmml train`: one module per model, the shared split in `common`."""
