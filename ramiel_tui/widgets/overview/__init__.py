"""The Overview view: model summary, critical-path statistics, passes, operators."""
