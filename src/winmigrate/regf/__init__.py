"""The REGF format with no policy: layouts, checked cell access, records, names, value codecs.

Nothing in this package knows about control sets, services or Xen; nothing above it parses bytes.
"""
