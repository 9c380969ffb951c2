"""vsmml: delivery events in; flow metrics, risk scores and recommendations out."""

__version__ = "0.1.0"
