"""The plugin tests run generated test suites with pytest's ``pytester``."""

pytest_plugins = ["pytester"]
