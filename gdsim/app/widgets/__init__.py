"""The scenario screen's widgets, one per module."""
