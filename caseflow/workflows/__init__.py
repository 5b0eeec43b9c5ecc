"""Deterministic workflow code: one module per case kind, plus the shared deadline machinery."""
