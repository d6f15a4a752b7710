"""The plan's own import path, kept working: ``from ctas_core import
ThreatIntelligenceProcessor`` and ``CTASBridge`` are ``ctas.processor``'s and
``ctas.bridge``'s (the Rust crate of the same name is what ``ctas._core`` is built from)."""

from ctas.bridge import CTASBridge
from ctas.processor import ThreatIntelligenceProcessor

__all__ = ["CTASBridge", "ThreatIntelligenceProcessor"]
