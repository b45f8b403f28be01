"""One module per report figure; each returns a plotly Figure and leaves writing it to the caller.

Traces tagged `meta={"channel": <channel or "all">}` follow the page's channel filter.
"""
