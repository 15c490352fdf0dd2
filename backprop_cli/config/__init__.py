"""The config: its schema (pydantic), YAML loading and overrides, and validation messages with key paths and lines."""
