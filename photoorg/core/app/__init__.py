"""The application door: Library (what the CLI, watch, the self-test and the window's
service call), the window's indexing service and its worker-side backend.
"""
