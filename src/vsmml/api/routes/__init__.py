"""Route modules, one per area: operate, ingest, read, predict, admin (and later ui)."""
