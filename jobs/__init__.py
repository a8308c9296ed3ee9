"""The command-line edge: parse options, build one config, call the library, map exit codes."""
