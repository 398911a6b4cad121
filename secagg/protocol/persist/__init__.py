"""Exporting and restoring sessions (PROTOCOL.md §13): the sealed envelope and the
field-by-field encoding of each round state."""
