"""Entity definitions (``@entity`` and field specifiers) and their resolved metadata."""
