"""Scenario files: the pydantic model, loading with clear errors, and --set overrides."""
