"""The Code view: the generated function each worker runs."""
