"""regbrief's retrieval, answering and briefing core."""
