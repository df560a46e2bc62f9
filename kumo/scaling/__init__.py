"""Scaling shared by both providers and the operator: pure admission and scale-down decisions
(:mod:`.decisions`) and the gateways' load reports in Redis (:mod:`.signals`)."""
