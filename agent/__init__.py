"""kompliant-agent: uploads compliance documents dropped into folders to Kompliant."""

__version__ = "0.1.0"
