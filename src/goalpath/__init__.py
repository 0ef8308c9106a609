"""Goalpath: students' goals, progress and progress reports for school districts."""

__version__ = "0.1.0"
PRODUCT_NAME = "Goalpath"
