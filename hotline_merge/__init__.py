"""The number registry and the merge modes: dialplan YAML -> validated model -> routing decisions.

Pure domain code: loading reads files, everything else takes its inputs as arguments
(no sockets, no clock reads).
"""
