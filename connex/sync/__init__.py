"""The sync engine: each flow is read → map → group → post → record, page by page, exactly once."""
