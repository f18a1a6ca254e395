"""Sample data files shipped with the package (a package so that setuptools ships them)."""
