"""Read use cases over the store: metrics, the value stream, SLOs and anomalies."""
