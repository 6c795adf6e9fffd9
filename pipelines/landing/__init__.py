"""The raw landing: table declarations (tables.py), the one write path (load.py) and window rules (window.py)."""
