"""Protocol buffer sources and generated code for the release service.

Imported as `tastevec.proto`, never as a top-level `proto` (that name belongs to the PyPI
package proto-plus, which Google client libraries install).
"""
