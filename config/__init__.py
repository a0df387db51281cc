"""Settings model and loader, and the deadline policies kept as data beside them."""

from config.settings import ConfigError, Settings, load_settings

__all__ = ["ConfigError", "Settings", "load_settings"]
