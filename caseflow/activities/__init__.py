"""Every side effect a workflow asks for: database records, linked cases, directory look-ups."""
