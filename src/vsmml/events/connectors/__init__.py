"""Pure converters from each source's raw payloads to canonical events (one module per source)."""
