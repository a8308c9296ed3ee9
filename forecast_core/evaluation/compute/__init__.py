"""Scores computed from forecasts and prices, without I/O.

``metrics`` (scores of samples against outcomes; the CRPS is ``forecast_core.crps``),
``realized`` (outcomes after a forecast's data cutoff), ``scoring`` (one row per forecast
and horizon day), ``aggregate`` (per model x horizon day and per model x month),
``monitoring`` (the monitor's checks), ``champion`` (the best model of a span).
"""
