"""The name early versions pickled their model under (``registry.pyfunc`` holds it now).

Versions registered before 0.1.0's split name ``forecast_core.mlflow_registry.PathSamplerModel``
in their pickle; this module keeps them loadable. Nothing else imports it.
"""

from forecast_core.registry.pyfunc import PathSamplerModel

__all__ = ["PathSamplerModel"]
