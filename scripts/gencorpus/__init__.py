# SPDX-License-Identifier: Apache-2.0
"""Deterministic CloudTrail corpus generator for trailhound (see docs/corpus.md).

Standard library only. Entry point: scripts/gen-corpus.
"""

__version__ = "1.0.0"
