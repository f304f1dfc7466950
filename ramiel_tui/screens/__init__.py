"""Screens pushed over the main one: the file picker and the export dialog."""
