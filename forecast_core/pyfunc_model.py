"""The name versions pickled their model under until the registry package (``registry.pyfunc``).

Versions registered before it name ``forecast_core.pyfunc_model.PathSamplerModel`` in
their pickle; this module keeps them loadable. Nothing else imports it.
"""

from forecast_core.registry.pyfunc import PathSamplerModel

__all__ = ["PathSamplerModel"]
