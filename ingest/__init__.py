"""Source files -> normalised documents -> chunks -> store."""
