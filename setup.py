"""Package discovery only; every other setting lives in setup.cfg.

The built-in connectors live under plugins/ as top-level packages (connex_linnworks, ...), so the
package list is computed from two roots, which setup.cfg's `find:` cannot express.
"""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["connex", "connex.*"]) + find_packages("plugins"),
    package_dir={"": "plugins", "connex": "connex"},
)
