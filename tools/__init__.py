"""Command-line tools: ``weldfusion <verb>`` or ``python tools/<verb>.py``."""
