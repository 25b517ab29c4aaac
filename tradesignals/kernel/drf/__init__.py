"""DRF glue shared by every slice: authentication, permissions, pagination, URL helpers."""
