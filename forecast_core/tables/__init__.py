"""The forecast tables: the Spark reader/writer, the Delta log, the input tables, the summary.

Imports nothing: each module is imported where it is used, so that reading the Delta log
(delta-rs) or the summary never loads Spark, and no caller loads Spark through this package.
"""
