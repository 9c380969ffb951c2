"""One module per report section: frames the pipeline gathered in, a `Section` out."""
