"""The ``vigil`` command: thin modules over the library, one per verb group."""
