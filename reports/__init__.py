"""Report site: Evidence-style markdown pages rendered by an MkDocs plugin at build time.

from reports.site import build_site      # build the configured site, returns its folder
from reports.runner import QueryRunner   # what the plugin runs queries through
"""
