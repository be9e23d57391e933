"""Installs scnas: the `scnas` command and its packages (see README.md)."""
from setuptools import find_packages, setup

setup(
    name="scnas",
    version="0.1.0",
    description="Co-design of CNNs and stochastic-computing accelerators",
    python_requires=">=3.10",
    packages=find_packages(include=["scnas", "scnas.*", "sc_accel", "sc_accel.*", "recast", "recast.*",
                                    "nas", "nas.*", "reports", "reports.*"]),
    install_requires=[
        "numpy<2.6",          # numba supports numpy below 2.6
        "numba>=0.60",
        "torch>=2.1,<3",      # the Makefile installs the CPU build 2.13.0 first
        "networkx>=3",
        "matplotlib>=3.7",
        "tqdm>=4.60",
        "scikit-learn>=1.2",  # only for its bundled digits data set (last data fallback)
        "optuna>=5.0",        # Bayesian optimisation (TPE) in `scnas dse batchdvfs`
    ],
    extras_require={
        # selenium drives the system's Chromium to check the report page (tests, reports.browser);
        # 4.52 needs a certifi release the package mirror here does not have yet.
        # ray: the tests start a local Ray instance to check that `scnas dse --ray` gives the
        # same results as the local process pool.
        "test": ["pytest>=7", "hypothesis>=6", "selenium>=4.20,<4.52", "ray>=2.9"],
        "browser": ["selenium>=4.20,<4.52"],
        # distributed: `scnas dse ... --ray ADDRESS` runs the search tasks on a Ray cluster.
        "distributed": ["ray>=2.9"],
    },
    entry_points={"console_scripts": ["scnas=scnas.cli:main"]},
)
