"""The shared kernel: what every slice needs and no slice owns. It imports nothing from ``apps``."""
