"""Teaching commands. These may print throw-away secrets on purpose; nothing else does."""
