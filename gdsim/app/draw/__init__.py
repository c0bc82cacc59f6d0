"""Drawing with NumPy into Textual Strips: canvas, axes, palettes, series (no widgets)."""
