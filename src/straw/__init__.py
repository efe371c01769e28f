"""straw: the package behind the book *Through a Straw*.

Layers point one way: rules -> search -> networks -> training -> evaluation.
Part I lives in :mod:`straw.estimators`; :mod:`straw.show` displays package source in chapters.
"""

__version__ = "0.1.0"
