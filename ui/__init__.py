"""The PySide6 desktop shell: windows, views, Qt models and workers that call ``app/`` services."""
