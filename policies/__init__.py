"""Guardrail policies as code (Rego) and the policy decision point.

``policies/bundle/`` holds the shipped guardrails (``guardrails.rego``, its tests and
``data.json``); ``bundle`` loads a bundle and computes its digest; ``engine`` defines what
an engine answers (``Verdict``) and the compile check every bundle passes; ``embedded``
evaluates in-process with regorus; ``testing`` runs a bundle's Rego tests. The input
document the rules read is described in ``policies/README.md``."""
