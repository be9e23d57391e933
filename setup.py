"""Installs scnas: the `scnas` command and its packages (see README.md)."""
from setuptools import find_packages, setup

setup(
    name="scnas",
    version="0.1.0",
    description="Co-design of CNNs and stochastic-computing accelerators",
    python_requires=">=3.10",
    packages=find_packages(include=["scnas*", "sc_accel*", "recast*", "nas*",
                                    "reports*", "benchmarks*"]),
    install_requires=[
        "numpy<2.6",          # numba supports numpy below 2.6
        "numba>=0.60",
        "torch>=2.1,<3",      # the Makefile installs the CPU build 2.13.0 first
        "networkx>=3",
        "matplotlib>=3.7",
        "tqdm>=4.60",
        "scikit-learn>=1.2",  # only for its bundled digits data set (last data fallback)
    ],
    extras_require={
        # selenium drives the system's Chromium to check the report page (tests, reports.browser);
        # 4.52 needs a certifi release the package mirror here does not have yet.
        "test": ["pytest>=7", "hypothesis>=6", "selenium>=4.20,<4.52"],
        "browser": ["selenium>=4.20,<4.52"],
    },
    entry_points={"console_scripts": ["scnas=scnas.cli:main"]},
)
